//! Quality family: heuristic filters (`filter`), domain tagging (`tag_domain`) and PII
//! redaction (`redact_pii`), plus their shared pieces: repetition metrics, religious
//! text detection and stopword derivation.

pub mod filter;
pub mod metrics;
pub mod redact_pii;
pub mod religious;
pub mod stopwords;
pub mod tag_domain;
