//! mavuno-stages: the data stages.
//!
//! Layout: `src/<family>/<stage_type>.rs`, one stage per file. A stage file has, in
//! order: a `//!` doc with a TOML example, the `<Name>Config` struct (serde,
//! `deny_unknown_fields`, a `///` on every field: it becomes `mavuno stages` output),
//! `impl StageConfig`, the runtime `<Name>` with `impl Stage` (or `Source`), then
//! `mod tests`. Pure algorithms (segmentation, classifiers, taggers, masking) live in
//! their family's other modules and are usable without the engine.
//!
//! [`register_all`] is the single list of stage types, in the order `mavuno stages`
//! prints them.
#![warn(missing_docs)]

pub mod curriculum;
pub mod dedup;
pub mod langid;
pub mod langs;
pub mod mask;
pub mod one_stage;
pub mod quality;
pub mod read;
pub mod shipped;
pub mod stats;
pub mod tag;
/// Test helpers shared with `mavuno-models`' stage tests (they panic: tests only).
#[doc(hidden)]
pub mod testutil;
pub mod text;
pub mod tokenize;
pub mod util;
pub mod web;
pub mod write;

use mavuno_pipeline::Registry;

/// Registers every stage type.
pub fn register_all(r: &mut Registry) {
    r.add::<read::text_reader::TextReaderConfig>();
    r.add::<read::jsonl_reader::JsonlReaderConfig>();
    r.add::<read::parquet_reader::ParquetReaderConfig>();
    r.add::<read::tsv_reader::TsvReaderConfig>();
    r.add::<read::conll_reader::ConllReaderConfig>();
    r.add::<read::conllu_reader::ConlluReaderConfig>();
    r.add::<read::parallel_reader::ParallelReaderConfig>();
    r.add::<web::warc_reader::WarcReaderConfig>();
    r.add::<web::wet_reader::WetReaderConfig>();
    r.add::<web::extract_html::ExtractHtmlConfig>();
    r.add::<web::url_filter::UrlFilterConfig>();
    r.add::<text::normalize::NormalizeConfig>();
    r.add::<text::split_sentences::SplitSentencesConfig>();
    r.add::<quality::filter::FilterConfig>();
    r.add::<quality::tag_domain::TagDomainConfig>();
    r.add::<quality::redact_pii::RedactPiiConfig>();
    r.add::<langid::langid::LangidConfig>();
    r.add::<dedup::dedup_exact::DedupExactConfig>();
    r.add::<dedup::dedup_near::DedupNearConfig>();
    r.add::<dedup::decontaminate::DecontaminateConfig>();
    r.add::<tag::tag_pos::TagPosConfig>();
    r.add::<tag::tag_ner::TagNerConfig>();
    r.add::<tag::tag_lexicon::TagLexiconConfig>();
    r.add::<tag::tag_gazetteer::TagGazetteerConfig>();
    r.add::<tokenize::train_tokenizer::TrainTokenizerConfig>();
    r.add::<mask::plan_masks::PlanMasksConfig>();
    r.add::<curriculum::order_curriculum::OrderCurriculumConfig>();
    r.add::<stats::stats::StatsConfig>();
    r.add::<util::passthrough::PassthroughConfig>();
    r.add::<write::jsonl_writer::JsonlWriterConfig>();
    r.add::<write::parquet_writer::ParquetWriterConfig>();
    r.add::<write::text_writer::TextWriterConfig>();
    r.add::<write::conll_writer::ConllWriterConfig>();
    r.add::<write::conllu_writer::ConlluWriterConfig>();
}

/// A registry with every stage type.
pub fn registry() -> Registry {
    let mut r = Registry::new();
    register_all(&mut r);
    r
}
