//! lingua as a second opinion for Latin-script text that mavuno's model cannot place.
//!
//! mavuno's default model now has training text for all 14 target languages (Zulu, Xhosa,
//! Somali and Luganda included, docs/LID.md) and for the neighbours Kirundi and chiShona,
//! so lingua is optional: it adds labels for languages the model has no data for (Sotho,
//! Tswana, Tsonga, Afrikaans, French, Portuguese, …). lingua (pure Rust, models embedded at
//! build time) never sees Hausa, Igbo, Wolof, Kinyarwanda or Pidgin, so asked about them it
//! would name the nearest language it knows. So its answer counts only when it names a
//! language mavuno has **no** label for, and only in two cases:
//! - mavuno's model said `und`, and lingua is sure (≥ 0.9), or fairly sure (≥
//!   `min_confidence`) while no label of mavuno's reaches full n-gram coverage on the text
//!   ([`LidModel::recognises`]). A Hausa line that is `und` because it is mostly English
//!   names still looks Hausa, and lingua is never sure of it.
//! - mavuno's model said `swa`: models without Zulu, Xhosa or Somali data (the session-3
//!   default) gave such sentences to Swahili.
//!
//! The enabled languages are Zulu, Xhosa, Somali, Luganda (answers that count only with a
//! model lacking them) plus "sinks", the languages such text is most often confused with
//! or mixed with in African web text (Shona, Sotho, Tswana, Tsonga, Afrikaans, Swahili,
//! Yoruba, and the three European languages of African web text: English, French,
//! Portuguese), so that e.g. Sotho comes out `sot` instead of the nearest target. The
//! models are embedded in the binary (≈ 29 MB for these 14).

use super::model::{strip_noise, LidModel, Prediction, UND};
use lingua::{Language, LanguageDetector, LanguageDetectorBuilder};

/// The languages lingua may answer with (one cargo feature each in `Cargo.toml`).
pub const LANGUAGES: [Language; 14] = [
    Language::Zulu,
    Language::Xhosa,
    Language::Somali,
    Language::Ganda,
    Language::Shona,
    Language::Sotho,
    Language::Tswana,
    Language::Tsonga,
    Language::Afrikaans,
    Language::Swahili,
    Language::Yoruba,
    Language::English,
    Language::French,
    Language::Portuguese,
];

/// lingua's top confidence (relative to the enabled languages) below which its answer is
/// not taken: above 0.5 the top language outweighs all the others together. Zulu and
/// Xhosa are close (a Zulu probe sentence: zul 0.66, xho 0.34), so a higher bar would
/// turn most Nguni text back into `und`.
pub const DEFAULT_MIN_CONFIDENCE: f64 = 0.5;

/// lingua's confidence at which its answer for an `und` text counts even when the text's
/// n-grams look like one of mavuno's languages.
const SURE: f64 = 0.9;

/// mavuno's label that Zulu, Xhosa and Somali text is mistaken for.
const BANTU_NEIGHBOUR: &str = "swa";

/// The lingua detector and its threshold.
pub struct LinguaFallback {
    detector: LanguageDetector,
    min_confidence: f64,
}

impl LinguaFallback {
    /// Builds the detector with its models loaded (≈ 0.1 s, tens of MB).
    pub fn new(min_confidence: f64) -> LinguaFallback {
        let detector = LanguageDetectorBuilder::from_languages(&LANGUAGES)
            .with_preloaded_language_models()
            .build();
        LinguaFallback {
            detector,
            min_confidence,
        }
    }

    /// The ISO 639-3 labels it can give.
    pub fn labels() -> Vec<String> {
        LANGUAGES
            .iter()
            .map(|l| l.iso_code_639_3().to_string())
            .collect()
    }

    /// The label to use instead of mavuno's `primary` prediction, if any (see the module
    /// docs for when lingua is asked and when its answer counts).
    pub fn predict(
        &self,
        model: &LidModel,
        text: &str,
        primary: &Prediction,
    ) -> Option<Prediction> {
        let und = primary.label == UND;
        if !und && primary.label != BANTU_NEIGHBOUR {
            return None;
        }
        let clean = strip_noise(text);
        let (lang, conf) = self
            .detector
            .compute_language_confidence_values(clean.as_ref())
            .into_iter()
            .next()?;
        let label = lang.iso_code_639_3().to_string();
        if model.labels().contains(&label) || conf < self.min_confidence {
            return None;
        }
        let counts = !und || conf >= SURE || !model.recognises(text);
        counts.then_some(Prediction::labelled(label, conf as f32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::langid::committed_model_path;
    use crate::langid::model::Thresholds;

    fn default_model() -> LidModel {
        LidModel::load(&committed_model_path()).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn labels_are_iso_639_3() {
        let l = LinguaFallback::labels();
        for want in ["zul", "xho", "som", "lug", "sna", "eng"] {
            assert!(l.iter().any(|x| x == want), "{want} in {l:?}");
        }
    }

    #[test]
    fn the_default_model_names_zul_xho_som_lug_itself() {
        // Probe sentences written for this test (not from any corpus). Until session 4
        // mavuno's model said `und` or `swa` here and lingua named them; now the model has
        // data for all four, and lingua is not asked.
        let m = default_model();
        let f = LinguaFallback::new(DEFAULT_MIN_CONFIDENCE);
        let t = Thresholds::default();
        for (text, want) in [
            (
                "Abantwana bafunda esikoleni njalo ekuseni ngaphambi kokuya emsebenzini.",
                "zul",
            ),
            (
                "Ndiyabulela kakhulu ngoncedo lwakho, ndiza kukubona ngomso eKapa.",
                "xho",
            ),
            (
                "Carruurtu waxay aadaan dugsiga subax kasta ka hor intaysan shaqada tegin.",
                "som",
            ),
            (
                "Abaana basoma ku ssomero buli lunaku ku makya nga tebannagenda ku mulimu.",
                "lug",
            ),
        ] {
            let first = m.predict(text, &t);
            assert_eq!(first.label, want, "{text}: {first:?}");
            assert_eq!(f.predict(&m, text, &first), None, "{text}");
        }
    }

    #[test]
    fn text_that_looks_like_a_mavuno_language_is_left_alone() {
        let m = default_model();
        let f = LinguaFallback::new(DEFAULT_MIN_CONFIDENCE);
        let t = Thresholds::default();
        // Igbo with English names: `und` for mavuno, but its n-grams are Igbo's, so lingua
        // (which has no Igbo) is not asked.
        let igbo = "Olusegun Obasanjo: Ihe Atiku ji kara Buhari mma";
        let first = m.predict(igbo, &t);
        assert_eq!(first.label, "und");
        assert_eq!(f.predict(&m, igbo, &first), None);
        // Swahili stays Swahili: lingua agrees, or names a language mavuno also has.
        let swa = "Watoto wanakwenda shuleni kila asubuhi kabla ya wazazi wao kwenda kazini.";
        let first = m.predict(swa, &t);
        assert_eq!(first.label, "swa");
        assert_eq!(f.predict(&m, swa, &first), None);
        // Hausa is not a language lingua knows: never asked.
        let hau = "Yara suna zuwa makaranta kowace safiya kafin iyayensu su tafi aiki.";
        let first = m.predict(hau, &t);
        assert_eq!(first.label, "hau");
        assert_eq!(f.predict(&m, hau, &first), None);
    }
}
