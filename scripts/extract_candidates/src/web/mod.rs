//! mavuno's web modules, compiled from the repository's sources.
#![allow(dead_code)]

#[path = "../../../../stages/src/web/charset.rs"]
pub mod charset;
#[path = "../../../../stages/src/web/extract.rs"]
pub mod extract;
#[path = "../../../../stages/src/web/http.rs"]
pub mod http;
#[path = "../../../../stages/src/web/input.rs"]
pub mod input;
#[path = "../../../../stages/src/web/records.rs"]
pub mod records;
