//! The loop shared by readers of blank-line-separated blocks (CoNLL, CoNLL-U): one block
//! per sentence, started by its first non-blank line and ended by a blank line or the end
//! of the file. A read error (truncated `.gz`/`.zst`) drops the unfinished block and is
//! reported once, at the line where it happened.

use super::{Lines, OnError};
use mavuno_pipeline::{Emitter, StageError};
use std::path::PathBuf;
use std::sync::Arc;

/// What a block format supplies to [`read_blocks`].
pub(crate) trait BlockFormat {
    /// A sentence being assembled.
    type Block;
    /// A new block whose first line is `line` (1-based).
    fn start(&self, line: u64) -> Self::Block;
    /// Lines outside any block that are ignored (`-DOCSTART-`).
    fn skip(&self, _line: &[u8]) -> bool {
        false
    }
    /// Adds the current non-blank line to the block.
    fn add_line(&self, block: &mut Self::Block, lines: &Lines);
    /// Emits a finished block (or nothing for `None`).
    fn end(
        &self,
        block: Option<Self::Block>,
        file: &Arc<str>,
        out: &mut Emitter,
    ) -> Result<(), StageError>;
    /// What to do with bad input.
    fn on_error(&self) -> OnError;
}

/// Reads every file as blocks, in order.
pub(crate) fn read_blocks<F: BlockFormat>(
    format: &F,
    files: &[PathBuf],
    out: &mut Emitter,
) -> Result<(), StageError> {
    let meter = out.read_meter();
    meter.add_files(files);
    for f in files {
        let mut lines = Lines::open(f, &meter)?;
        let mut block: Option<F::Block> = None;
        loop {
            if out.cancelled() {
                return Ok(());
            }
            match lines.advance() {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    block = None;
                    if out.take_next() {
                        format.on_error().bad(out, e, "")?;
                    }
                    break;
                }
            }
            if lines.is_blank() {
                format.end(block.take(), &lines.file, out)?;
                continue;
            }
            if format.skip(&lines.buf) {
                continue;
            }
            let b = block.get_or_insert_with(|| format.start(lines.line));
            format.add_line(b, &lines);
        }
        format.end(block, &lines.file, out)?;
    }
    Ok(())
}
