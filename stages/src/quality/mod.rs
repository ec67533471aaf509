//! Quality family: heuristic filters (`filter`: Gopher, C4, FineWeb, MADLAD and mavuno
//! rules), domain tagging (`tag_domain`) and PII redaction (`redact_pii`), plus their
//! shared pieces: tokens, character classes, the measures of each rule family, presets,
//! religious text detection and stopword derivation.

pub mod c4;
pub mod chars;
pub mod filter;
pub mod fineweb;
pub mod gopher;
pub mod measures;
pub mod metrics;
pub mod presets;
pub mod redact_pii;
pub mod religious;
pub mod repetition;
pub mod rules;
pub mod stopwords;
pub mod tag_domain;
pub mod tokens;
