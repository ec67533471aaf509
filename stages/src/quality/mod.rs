//! Quality family: heuristic filters, domain tagging, PII redaction.
