//! Corpus statistics and HTML reports.
//!
//! - [`stats`] (`stats`): a sink that passes records through and writes `report.json` and
//!   `report.html` (per-language counts, length histograms, duplicate clusters, religious
//!   share, labels).
//! - [`histogram`]: fixed-size mergeable histograms of filter measures (run report).
//! - [`run_sections`]: the run report's funnel, filter measures and dropped samples.
//! - [`html::render_run_report`]: the run report (per-stage accounting from
//!   `manifest.json`), optionally with a `stats` report embedded.
//!
//! Plots are hand-written inline SVG ([`svg`]): no plotting dependency, byte-identical
//! output for identical input, and the browser shapes any script. Axis labels are ISO codes,
//! stage ids and numbers anyway.

pub mod corpus;
pub mod histogram;
pub mod html;
pub mod run_sections;
#[allow(clippy::module_inception)]
pub mod stats;
pub mod svg;

pub use html::render_run_report;
