//! The global allocator of both binaries: mimalloc.
//!
//! Why: a pipeline allocates and frees millions of short strings (records, tokens, DOM
//! nodes of HTML pages) across threads. With glibc's malloc, allocation was ~6 % of a
//! JSONL → Parquet run and a large share of HTML extraction (html5ever builds one node per
//! element); mimalloc's per-thread free lists make those calls cheaper (docs/ARCHITECTURE.md
//! has the measured difference). Output bytes do not depend on the allocator.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
