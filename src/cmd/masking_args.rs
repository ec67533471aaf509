//! The masking options `mavuno mask` and `mavuno pretrain` share, declared once.
//!
//! Both verbs configure the same typed value ([`Masking`], `stages/src/mask/spec.rs`) that
//! the `plan_masks` and `train_mlm` stages read from their configs; these flags are only
//! overrides on it, so a default lives in the spec and nowhere here.

use mavuno_stages::mask::spec::Masking;

/// `--masking`, `--mask-rate` and the LEM class rates.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct MaskingArgs {
    /// Masking preset (token, whole_word, span, spanbert, lem = lem_ne, lem_ne_verb, lem_all,
    /// lem_random_word, lem_quirk, pos_objective), or a TOML inline table such as
    /// `{ strategy = "lem", p_ne = 1.0, p_verb = 1.0 }` (default: the stage's).
    #[arg(long, alias = "strategy")]
    pub masking: Option<String>,
    /// Selection rate of the masking (the spec's default: 0.15).
    #[arg(long = "mask-rate", alias = "rate")]
    pub mask_rate: Option<f64>,
    /// LEM p_NE (0 turns NE priority off).
    #[arg(long)]
    pub lem_p_ne: Option<f64>,
    /// LEM p_verb.
    #[arg(long)]
    pub lem_p_verb: Option<f64>,
    /// LEM p_noun.
    #[arg(long)]
    pub lem_p_noun: Option<f64>,
    /// LEM: reproduce the released pass-2 counter quirk.
    #[arg(long)]
    pub lem_quirk: Option<bool>,
}

impl MaskingArgs {
    /// Applies the given flags to `m`: `--masking` replaces it, the others override fields.
    pub fn apply(&self, m: &mut Masking) -> anyhow::Result<()> {
        if let Some(s) = &self.masking {
            *m = Masking::parse_cli(s).map_err(|e| anyhow::anyhow!("--masking: {e}"))?;
        }
        m.override_rate(self.mask_rate);
        m.override_lem(
            self.lem_p_ne,
            self.lem_p_verb,
            self.lem_p_noun,
            self.lem_quirk,
        )
        .map_err(|e| anyhow::anyhow!("{e}"))
    }
}
