//! [`Masking`]: the masking spec as configs and the CLI spell it, shared by `plan_masks`,
//! `train_mlm`, `mavuno mask` and `mavuno pretrain`. Either a preset name or a table:
//!
//! ```text
//! masking = "lem_ne"                       # a preset (Strategy::PRESETS)
//! masking = { strategy = "lem", p_ne = 1.0, p_verb = 1.0, p_noun = 0.0, quirk = false }
//! masking = { strategy = "token", rate = 0.15 }
//! ```
//!
//! A table's missing fields take their paper's defaults ([`Strategy`]). The value is written
//! back (in `train_config.toml`, summaries) as the full table, so a run records every rate it
//! used, not only a name.
use std::borrow::Cow;

use mavuno_pipeline::schemars::{self, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::plan::{LemParams, Strategy};

/// A masking strategy from a preset name or a table.
#[derive(Clone, Debug, PartialEq)]
pub struct Masking(pub Strategy);

impl Masking {
    /// The preset `name`, or an error listing the presets.
    pub fn preset(name: &str) -> Result<Masking, String> {
        Strategy::by_name(name).map(Masking).ok_or_else(|| {
            format!(
                "unknown masking {name:?} (expected one of {}, or a table with `strategy`)",
                Strategy::PRESETS
            )
        })
    }

    /// A command-line value: a preset name, or a TOML inline table
    /// (`{ strategy = "lem", p_verb = 1.0 }`).
    pub fn parse_cli(s: &str) -> Result<Masking, String> {
        let s = s.trim();
        if !s.starts_with('{') {
            return Masking::preset(s);
        }
        #[derive(Deserialize)]
        struct One {
            masking: Masking,
        }
        toml::from_str::<One>(&format!("masking = {s}"))
            .map(|o| o.masking)
            .map_err(|e| e.message().to_string())
    }

    /// The LEM parameters, when this is LEM.
    pub fn lem(&self) -> Option<&LemParams> {
        match &self.0 {
            Strategy::Lem(p) => Some(p),
            _ => None,
        }
    }

    /// A short label for summaries: the strategy name, with the LEM class rates.
    pub fn label(&self) -> String {
        match &self.0 {
            Strategy::Lem(p) => format!(
                "lem(p_ne={}, p_verb={}, p_noun={}{})",
                p.p_ne,
                p.p_verb,
                p.p_noun,
                if p.quirk { ", quirk" } else { "" }
            ),
            s => s.name().to_string(),
        }
    }

    /// Overrides the LEM class rates and quirk (CLI flags); an error when any is given for a
    /// strategy other than LEM.
    pub fn override_lem(
        &mut self,
        p_ne: Option<f64>,
        p_verb: Option<f64>,
        p_noun: Option<f64>,
        quirk: Option<bool>,
    ) -> Result<(), String> {
        if p_ne.is_none() && p_verb.is_none() && p_noun.is_none() && quirk.is_none() {
            return Ok(());
        }
        let Strategy::Lem(p) = &mut self.0 else {
            return Err(format!(
                "LEM class rates given for masking {:?}, which is not LEM",
                self.0.name()
            ));
        };
        p.p_ne = p_ne.unwrap_or(p.p_ne);
        p.p_verb = p_verb.unwrap_or(p.p_verb);
        p.p_noun = p_noun.unwrap_or(p.p_noun);
        p.quirk = quirk.unwrap_or(p.quirk);
        Ok(())
    }

    /// Overrides the selection rate (every strategy but `pos_objective`'s tagged rate).
    pub fn override_rate(&mut self, rate: Option<f64>) {
        let Some(r) = rate else { return };
        match &mut self.0 {
            Strategy::Token { rate }
            | Strategy::WholeWord { rate }
            | Strategy::Span { rate, .. } => *rate = r,
            Strategy::Lem(p) => p.rate = r,
            Strategy::PosObjective { other_rate, .. } => *other_rate = r,
        }
    }
}

impl Serialize for Masking {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Masking {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let v = serde_json::Value::deserialize(d)?;
        let m = match v {
            serde_json::Value::String(name) => Masking::preset(&name).map_err(D::Error::custom)?,
            v @ serde_json::Value::Object(_) => {
                Masking(serde_json::from_value(v).map_err(D::Error::custom)?)
            }
            other => {
                return Err(D::Error::custom(format!(
                    "masking must be a preset name or a table, got {other}"
                )))
            }
        };
        m.0.check().map_err(D::Error::custom)?;
        Ok(m)
    }
}

impl JsonSchema for Masking {
    fn schema_name() -> Cow<'static, str> {
        "Masking".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        schemars::json_schema!({
            "description": "A masking preset name or a table with `strategy` (token, whole_word, span, lem, pos_objective) and its parameters.",
            "anyOf": [
                {"type": "string"},
                {"type": "object", "required": ["strategy"], "properties": {"strategy": {"type": "string"}}}
            ]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, Serialize)]
    struct Cfg {
        masking: Masking,
    }

    fn parse(t: &str) -> Result<Masking, String> {
        toml::from_str::<Cfg>(t)
            .map(|c| c.masking)
            .map_err(|e| e.message().to_string())
    }

    #[test]
    fn presets_and_tables_parse_to_the_same_spec() -> Result<(), String> {
        assert_eq!(parse("masking = \"lem\"")?, parse("masking = \"lem_ne\"")?);
        assert_eq!(
            parse("masking = { strategy = \"lem\" }")?,
            Masking(Strategy::Lem(LemParams::default()))
        );
        assert_eq!(
            parse("masking = { strategy = \"lem\", p_ne = 0.0 }")?,
            parse("masking = \"lem_random_word\"")?
        );
        assert_eq!(
            parse("masking = { strategy = \"lem\", p_verb = 1.0 }")?,
            parse("masking = \"lem_ne_verb\"")?
        );
        assert_eq!(
            parse(
                "masking = { strategy = \"lem\", p_verb = 1.0, p_noun = 1.0, fill_quirk = true }"
            )?,
            parse("masking = \"lem_quirk\"")?
        );
        assert_eq!(
            parse("masking = { strategy = \"token\" }")?,
            Masking(Strategy::Token { rate: 0.15 })
        );
        // Round trip: written as the full table.
        let m = parse("masking = \"lem_all\"")?;
        let text = toml::to_string(&Cfg { masking: m.clone() }).map_err(|e| e.to_string())?;
        assert!(text.contains("p_noun = 1.0"), "{text}");
        assert_eq!(parse(&text)?, m);
        Ok(())
    }

    #[test]
    fn bad_values_are_named() {
        let e = parse("masking = \"lemon\"").unwrap_err();
        assert!(e.starts_with("unknown masking \"lemon\""), "{e}");
        let e = parse("masking = { strategy = \"lem\", p_ne = 2.0 }").unwrap_err();
        assert_eq!(e, "p_ne must be in [0, 1], got 2");
        let e = parse("masking = { strategy = \"lem\", p_adj = 1.0 }").unwrap_err();
        assert!(e.contains("p_adj"), "{e}");
    }

    #[test]
    fn cli_values_parse_like_config_values() -> Result<(), String> {
        assert_eq!(
            Masking::parse_cli("lem_all")?,
            parse("masking = \"lem_all\"")?
        );
        assert_eq!(
            Masking::parse_cli("{ strategy = \"lem\", p_verb = 1.0 }")?,
            parse("masking = \"lem_ne_verb\"")?
        );
        assert!(Masking::parse_cli("nope").is_err());
        Ok(())
    }

    #[test]
    fn cli_overrides_apply_to_lem_only() {
        let mut m = Masking::preset("lem").unwrap_or(Masking(Strategy::Token { rate: 0.0 }));
        m.override_lem(None, Some(1.0), None, Some(true)).unwrap();
        m.override_rate(Some(0.2));
        assert_eq!(
            m.lem().copied(),
            Some(LemParams {
                rate: 0.2,
                p_verb: 1.0,
                quirk: true,
                ..LemParams::default()
            })
        );
        let mut t = Masking(Strategy::Token { rate: 0.15 });
        assert!(t.override_lem(Some(1.0), None, None, None).is_err());
        assert!(t.override_lem(None, None, None, None).is_ok());
    }
}
