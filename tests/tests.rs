//! Integration tests of the `mavuno` binary: one test binary, one module per topic.
//!
//! Every test runs the real executable (`CARGO_BIN_EXE_mavuno`) with real stages.
//! Inputs are generated in temporary directories or read (never copied) from the shared
//! data directory (`../shared/data`, or `$MAVUNO_TEST_DATA`); tests that need data or
//! Python packages that are absent skip with a message.

mod support;

mod backpressure;
mod bad_input;
mod cli;
mod config_errors;
mod determinism;
mod global_dedup;
mod global_order;
mod registry;
mod report;
mod resume;
mod roundtrip;
mod sweep;
mod train_stages;
mod verbs;
mod web;
