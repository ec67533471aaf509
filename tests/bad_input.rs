//! Bad input through the binary: invalid UTF-8, truncated `.zst` and `.gz`, a malformed
//! JSON line, a CoNLL line with the wrong column count, a ragged TSV row and a 50 MB line
//! with a bad byte at its end. With `on_error = "fail"` the run exits 1 and stderr names
//! the file and line (and never shows a panic); with `on_error = "reject"` it exits 0,
//! `rejects.jsonl` holds the bad input with its file and line, the manifest counts it,
//! and the good records around it are kept. Empty files of every format are not errors.

use crate::support::{lit, manifest, read_jsonl, run_config, stage, write};
use std::io::Write;
use std::path::{Path, PathBuf};

/// One bad-input case: the reader table (without `paths`/`on_error`), the file, and what
/// a run must report.
struct Case {
    name: &'static str,
    reader: &'static str,
    file: &'static str,
    bytes: Vec<u8>,
    /// The 1-based line the error must name; `None` for truncated streams, where only
    /// the file is named.
    line: Option<u64>,
    /// Good records a `reject` run must still write (at least).
    good: usize,
}

fn lines(n: usize, prefix: &str) -> String {
    (0..n)
        .map(|i| format!("{prefix} line number {i} of the test input.\n"))
        .collect()
}

fn zst(bytes: &[u8]) -> Vec<u8> {
    zstd::encode_all(bytes, 3).expect("zstd")
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).expect("gzip");
    e.finish().expect("gzip")
}

fn cases() -> Vec<Case> {
    let big = lines(20_000, "compressed");
    let mut z = zst(big.as_bytes());
    z.truncate(z.len() / 2);
    let mut g = gz(big.as_bytes());
    g.truncate(g.len() / 2);
    let mut fifty = b"first line\n".to_vec();
    fifty.extend(std::iter::repeat_n(b'a', 50 << 20));
    fifty.extend_from_slice(b"\xff\n");
    fifty.extend_from_slice(b"last line\n");
    vec![
        Case {
            name: "invalid_utf8",
            reader: "type = \"text_reader\"",
            file: "bad.txt",
            bytes: b"good one\nbad \xff\xfe here\ngood two\n".to_vec(),
            line: Some(2),
            good: 2,
        },
        Case {
            name: "truncated_zst",
            reader: "type = \"text_reader\"",
            file: "cut.txt.zst",
            bytes: z,
            line: None,
            good: 1,
        },
        Case {
            name: "truncated_gz",
            reader: "type = \"text_reader\"",
            file: "cut.txt.gz",
            bytes: g,
            line: None,
            good: 1,
        },
        Case {
            name: "malformed_json",
            reader: "type = \"jsonl_reader\"",
            file: "bad.jsonl",
            bytes: b"{\"text\": \"one\"}\n{\"text\": \"two\",\n{\"text\": \"three\"}\n".to_vec(),
            line: Some(2),
            good: 2,
        },
        Case {
            name: "conll_columns",
            reader: "type = \"conll_reader\"",
            file: "bad.conll",
            bytes: b"Ade B-PER\nlo O\n\nIbadan B-LOC\nni O extra\n\nO O\ndara O\n".to_vec(),
            line: Some(5),
            good: 2,
        },
        Case {
            name: "ragged_tsv",
            reader: "type = \"tsv_reader\"\ntext_field = \"text\"",
            file: "bad.tsv",
            bytes: b"text\tlabel\nfine\tpositive\nragged\tnegative\textra\nalso fine\tneutral\n"
                .to_vec(),
            line: Some(3),
            good: 2,
        },
        Case {
            name: "fifty_mb_line",
            reader: "type = \"text_reader\"",
            file: "big.txt",
            bytes: fifty,
            line: Some(2),
            good: 2,
        },
    ]
}

fn config(dir: &Path, c: &Case, input: &Path, on_error: &str) -> PathBuf {
    write(
        dir,
        &format!("{}-{on_error}.toml", c.name),
        &format!(
            "[run]\nname = \"{}-{on_error}\"\n\n[stages.read]\n{}\npaths = [{}]\non_error = \"{on_error}\"\n\n[stages.out]\ntype = \"jsonl_writer\"\ninputs = [\"read\"]\npath = \"out.jsonl\"\n",
            c.name,
            c.reader,
            lit(input)
        ),
    )
}

fn check(c: &Case) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    let input = d.join(c.file);
    std::fs::write(&input, &c.bytes).expect("write input");
    let file = input.display().to_string();

    // fail: exit 1, stderr names file (and line), no panic.
    let cfg = config(d, c, &input, "fail");
    let r = run_config(d, &cfg, &d.join("runs"), &[]);
    assert!(
        !r.stderr.contains("panicked"),
        "{}: the binary panicked:\n{}",
        c.name,
        r.stderr
    );
    r.expect_code(1, &format!("{} with on_error = \"fail\"", c.name));
    let err: Vec<&str> = r.stderr.lines().filter(|l| l.contains("error")).collect();
    assert!(
        err.iter().any(|l| l.contains(&file)),
        "{}: the error must name the file {file}:\n{}",
        c.name,
        r.stderr
    );
    if let Some(line) = c.line {
        assert!(
            err.iter().any(|l| l.contains(&format!("{file}:{line}"))),
            "{}: the error must name {file}:{line}:\n{}",
            c.name,
            r.stderr
        );
    }
    assert!(
        r.stderr.len() < 100_000,
        "{}: stderr must not dump the bad input ({} bytes)",
        c.name,
        r.stderr.len()
    );
    assert!(
        !d.join("runs")
            .join(format!("{}-fail", c.name))
            .join("out.jsonl")
            .exists(),
        "{}: a failed run must not write a complete-looking output",
        c.name
    );

    // reject: exit 0, rejects.jsonl names file and line, manifest counts it.
    let cfg = config(d, c, &input, "reject");
    let r = run_config(d, &cfg, &d.join("runs"), &[]);
    assert!(
        !r.stderr.contains("panicked"),
        "{}: the binary panicked:\n{}",
        c.name,
        r.stderr
    );
    r.expect_code(0, &format!("{} with on_error = \"reject\"", c.name));
    let run_dir = d.join("runs").join(format!("{}-reject", c.name));
    let rejects = read_jsonl(&run_dir.join("rejects.jsonl"));
    assert!(!rejects.is_empty(), "{}: rejects.jsonl is empty", c.name);
    let as_text: Vec<String> = rejects.iter().map(|v| v.to_string()).collect();
    assert!(
        as_text
            .iter()
            .any(|t| t.contains(&file.replace('\\', "\\\\"))),
        "{}: no reject names {file}: {:.500}",
        c.name,
        as_text.join("\n")
    );
    if let Some(line) = c.line {
        assert!(
            as_text.iter().any(|t| t.contains(&format!("{file}:{line}"))
                || t.contains(&format!("\"line\":{line}"))),
            "{}: no reject names line {line}: {:.500}",
            c.name,
            as_text.join("\n")
        );
    }
    let m = manifest(&run_dir);
    let read = stage(&m, "read");
    assert_eq!(
        read["counts"]["rejected"].as_u64(),
        Some(rejects.len() as u64),
        "{}: manifest rejected count equals rejects.jsonl lines",
        c.name
    );
    assert_eq!(
        m["rejected_total"].as_u64(),
        Some(rejects.len() as u64),
        "{}: manifest rejected_total",
        c.name
    );
    let kept = read["counts"]["kept"].as_u64().unwrap_or(0) as usize;
    assert!(
        kept >= c.good,
        "{}: only {kept} good records kept, expected at least {}",
        c.name,
        c.good
    );
    let out = std::fs::read_to_string(run_dir.join("out.jsonl")).expect("out.jsonl");
    assert_eq!(
        out.lines().count(),
        kept,
        "{}: out.jsonl holds the kept records",
        c.name
    );
}

#[test]
fn invalid_utf8() {
    check(&cases().remove(0));
}

#[test]
fn truncated_zst() {
    check(&cases().remove(1));
}

#[test]
fn truncated_gz() {
    check(&cases().remove(2));
}

#[test]
fn malformed_json_line() {
    check(&cases().remove(3));
}

#[test]
fn conll_wrong_column_count() {
    check(&cases().remove(4));
}

#[test]
fn ragged_tsv_row() {
    check(&cases().remove(5));
}

#[test]
fn fifty_mb_line_with_a_bad_byte() {
    check(&cases().remove(6));
}

#[test]
fn a_fifty_mb_line_is_one_record() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    let mut text = String::from("short\n");
    text.push_str(&"ọ̀rọ̀ ".repeat((50 << 20) / 12));
    text.push_str("\nend\n");
    let input = write(d, "long.txt", &text);
    let cfg = write(
        d,
        "long.toml",
        &format!("[run]\nname = \"long\"\n\n[stages.read]\ntype = \"text_reader\"\npaths = [{}]\n\n[stages.out]\ntype = \"text_writer\"\ninputs = [\"read\"]\npath = \"out.txt\"\n", lit(&input)),
    );
    run_config(d, &cfg, &d.join("runs"), &[]).expect_code(0, "50 MB line");
    let out = std::fs::read_to_string(d.join("runs/long/out.txt")).expect("out.txt");
    assert!(
        out == text,
        "the 50 MB line must come out unchanged as one record ({} vs {} bytes)",
        out.len(),
        text.len()
    );
}

#[test]
fn empty_files_are_not_errors() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    for (reader, file) in [
        ("text_reader", "e.txt"),
        ("text_reader", "e.txt.zst"),
        ("jsonl_reader", "e.jsonl.gz"),
        ("jsonl_reader", "e.jsonl"),
        ("tsv_reader", "e.tsv"),
        ("conll_reader", "e.conll"),
        ("conllu_reader", "e.conllu"),
        ("parquet_reader", "e.parquet"),
    ] {
        // A compressed empty file is an empty stream (a 0-byte `.zst`/`.gz` is not a
        // valid stream: `zstd -d` and `gzip -d` reject it too).
        let input = d.join(file);
        let bytes = if file.ends_with(".zst") {
            zst(b"")
        } else if file.ends_with(".gz") {
            gz(b"")
        } else {
            Vec::new()
        };
        std::fs::write(&input, bytes).expect("write empty file");
        let name = file.replace('.', "_");
        let cfg = write(
            d,
            &format!("{name}.toml"),
            &format!("[run]\nname = \"{name}\"\n\n[stages.read]\ntype = \"{reader}\"\npaths = [{}]\n\n[stages.out]\ntype = \"jsonl_writer\"\ninputs = [\"read\"]\npath = \"out.jsonl\"\n", lit(&input)),
        );
        let r = run_config(d, &cfg, &d.join("runs"), &[]);
        assert!(
            !r.stderr.contains("panicked"),
            "{reader} on an empty file panicked:\n{}",
            r.stderr
        );
        r.expect_code(0, &format!("{reader} on an empty {file}"));
        let run_dir = d.join("runs").join(&name);
        assert_eq!(
            std::fs::read(run_dir.join("out.jsonl"))
                .map(|b| b.len())
                .ok(),
            Some(0),
            "{reader}: empty input gives an empty output"
        );
        assert_eq!(
            stage(&manifest(&run_dir), "read")["counts"]["records_in"],
            0,
            "{reader}: no records from an empty file"
        );
    }
}
