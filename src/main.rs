//! The `mavuno` command-line interface.
mod cmd;
fn main() {}
