//! Outputs never depend on batch size or thread count: a real cleaning pipeline
//! (text_reader → normalize → split_sentences → filter → dedup_exact → dedup_near →
//! jsonl_writer + parquet_writer) over a few MB of shared raw text plus a generated file
//! with invalid UTF-8 (so `rejects.jsonl` is not empty) must write byte-identical
//! JSONL, Parquet, near-dup clusters and `rejects.jsonl` for every
//! `run.batch_size ∈ {1, 7, 1000}` × `run.threads ∈ {1, 2}`, and the same counts.

use crate::support::{data_file, lit, manifest, run_config, write};
use std::path::Path;

fn config(files: &[&Path]) -> String {
    let paths: Vec<String> = files.iter().map(|p| lit(p)).collect();
    format!(
        r#"[run]
name = "det"

[stages.raw]
type = "text_reader"
paths = [{}]
on_error = "reject"

[stages.norm]
type = "normalize"
inputs = ["raw"]

[stages.sents]
type = "split_sentences"
inputs = ["norm"]
min_chars = 10

[stages.quality]
type = "filter"
inputs = ["sents"]
min_words = 3

[stages.exact]
type = "dedup_exact"
inputs = ["quality"]

[stages.near]
type = "dedup_near"
inputs = ["exact"]
threshold = 0.7

[stages.jsonl]
type = "jsonl_writer"
inputs = ["near"]
path = "clean.jsonl"

[stages.parquet]
type = "parquet_writer"
inputs = ["near"]
path = "clean.parquet"
row_group_size = 1000
"#,
        paths.join(", ")
    )
}

/// Counts of every stage, without timings.
fn counts(run_dir: &Path) -> Vec<(String, serde_json::Value)> {
    let m = manifest(run_dir);
    m["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap_or("").to_string(),
                s["counts"].clone(),
            )
        })
        .collect()
}

/// The first run's label, output bytes and per-stage counts, to compare the others with.
type Reference = (String, Vec<Vec<u8>>, Vec<(String, serde_json::Value)>);
#[test]
fn outputs_are_byte_identical_for_any_batch_size_and_thread_count() {
    let test = "outputs_are_byte_identical_for_any_batch_size_and_thread_count";
    let (hau, pcm, wol) = (
        data_file(test, "masakhane_raw_text/hau.txt"),
        data_file(test, "masakhane_raw_text/pcm.txt"),
        data_file(test, "masakhane_raw_text/wol.txt"),
    );
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    // Generated noise: invalid UTF-8 lines (rejected), exact and near duplicates.
    let mut noise = Vec::new();
    for i in 0..300 {
        noise.extend_from_slice(
            format!(
                "Gwamnatin tarayya ta sanar da sabon shiri na {} a yau.\n",
                i % 40
            )
            .as_bytes(),
        );
        if i % 17 == 0 {
            noise.extend_from_slice(b"bad \xff\xfe bytes in line\n");
        }
        noise.extend_from_slice(
            format!("Wannan jumla ce ta gwaji mai lamba {i} domin duba cire kwafi.\n").as_bytes(),
        );
    }
    let noise_path = d.join("noise.txt");
    std::fs::write(&noise_path, noise).expect("write noise");
    let cfg = write(d, "det.toml", &config(&[&hau, &pcm, &wol, &noise_path]));

    let files = [
        "clean.jsonl",
        "clean.parquet",
        "rejects.jsonl",
        "dedup_near_clusters.jsonl",
    ];
    let mut reference: Option<Reference> = None;
    for (bs, threads) in [(1000, 2), (1, 1), (7, 2), (1000, 1), (1, 2), (7, 1)] {
        let label = format!("batch_size={bs} threads={threads}");
        let workdir = d.join(format!("runs-{bs}-{threads}"));
        run_config(
            d,
            &cfg,
            &workdir,
            &[
                &format!("run.batch_size={bs}"),
                &format!("run.threads={threads}"),
            ],
        )
        .expect_code(0, &label);
        let run_dir = workdir.join("det");
        let present: Vec<&str> = files
            .iter()
            .copied()
            .filter(|f| run_dir.join(f).exists())
            .collect();
        let bytes: Vec<Vec<u8>> = present
            .iter()
            .map(|f| std::fs::read(run_dir.join(f)).expect("read output"))
            .collect();
        let c = counts(&run_dir);
        match &reference {
            None => {
                assert!(
                    present.contains(&"clean.jsonl") && present.contains(&"clean.parquet"),
                    "writers produced no output: {present:?}"
                );
                assert!(
                    !bytes[present
                        .iter()
                        .position(|f| *f == "rejects.jsonl")
                        .expect("rejects.jsonl")]
                    .is_empty(),
                    "the invalid UTF-8 lines must be in rejects.jsonl"
                );
                let kept = c
                    .iter()
                    .find(|(id, _)| id == "jsonl")
                    .map(|(_, v)| v["kept"].as_u64().unwrap_or(0))
                    .unwrap_or(0);
                assert!(
                    kept > 1000,
                    "the pipeline should keep a real corpus, kept {kept}"
                );
                for stage in ["exact", "near"] {
                    let dropped = c
                        .iter()
                        .find(|(id, _)| id == stage)
                        .map(|(_, v)| v["dropped"].clone())
                        .unwrap_or_default();
                    assert!(
                        dropped.as_object().is_some_and(|o| !o.is_empty()),
                        "{stage} should drop duplicates of the generated noise, got {dropped}"
                    );
                }
                reference = Some((label, bytes, c));
            }
            Some((ref_label, ref_bytes, ref_counts)) => {
                for (k, f) in present.iter().enumerate() {
                    assert!(
                        bytes[k] == ref_bytes[k],
                        "{f} differs between {ref_label} and {label}"
                    );
                }
                assert_eq!(
                    &c, ref_counts,
                    "stage counts differ between {ref_label} and {label}"
                );
            }
        }
    }
}

/// `jsonl_reader → parquet_writer` on a `.jsonl.zst` file spanning many parse chunks and
/// row groups: the reader decompresses on a thread of its own and parses chunks on the
/// pool while it reads the next, the writer builds and encodes several row groups at once.
/// The Parquet file and `rejects.jsonl` must still be byte-identical for 1, 2 and 4
/// threads, with every bad line rejected at its line.
#[test]
fn jsonl_to_parquet_is_byte_identical_for_any_thread_count() {
    let test = "jsonl_to_parquet_is_byte_identical_for_any_thread_count";
    let hau = data_file(test, "masakhane_raw_text/hau.txt");
    let text = std::fs::read_to_string(&hau).expect("read hau.txt");
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() > 100, "{}: too few lines", hau.display());
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    let (mut body, mut bad) = (Vec::new(), Vec::new());
    for i in 0..12_000usize {
        let line_no = i + 1;
        if i % 997 == 500 {
            body.extend_from_slice(b"{\"text\": \"cut short\n");
            bad.push(line_no);
        } else if i % 1499 == 700 {
            body.extend_from_slice(b"{\"text\": \"bad \xff bytes\"}\n");
            bad.push(line_no);
        } else {
            let rec = serde_json::json!({
                "id": format!("r{i}"),
                "text": lines[i % lines.len()],
                "n": i,
                "score": i as f64 / 7.0,
            });
            body.extend_from_slice(format!("{rec}\n").as_bytes());
        }
    }
    let input = d.join("corpus.jsonl.zst");
    std::fs::write(&input, zstd::encode_all(&body[..], 3).expect("zstd")).expect("write input");
    let cfg = write(
        d,
        "io.toml",
        &format!(
            r#"[run]
name = "io"

[stages.raw]
type = "jsonl_reader"
paths = [{}]
on_error = "reject"

[stages.out]
type = "parquet_writer"
inputs = ["raw"]
path = "corpus.parquet"
row_group_size = 1000
"#,
            lit(&input)
        ),
    );
    let mut reference: Option<Reference> = None;
    for threads in [1, 2, 4] {
        let label = format!("threads={threads}");
        let workdir = d.join(format!("runs-{threads}"));
        run_config(d, &cfg, &workdir, &[&format!("run.threads={threads}")]).expect_code(0, &label);
        let run_dir = workdir.join("io");
        let bytes: Vec<Vec<u8>> = ["corpus.parquet", "rejects.jsonl"]
            .iter()
            .map(|f| std::fs::read(run_dir.join(f)).expect("read output"))
            .collect();
        let c = counts(&run_dir);
        match &reference {
            None => {
                let raw = &c.iter().find(|(id, _)| id == "raw").expect("raw counts").1;
                assert_eq!(raw["records_in"], 12_000, "{raw}");
                assert_eq!(raw["rejected"], bad.len(), "{raw}");
                assert_eq!(raw["kept"], 12_000 - bad.len(), "{raw}");
                let rejects = String::from_utf8_lossy(&bytes[1]);
                for n in &bad {
                    assert!(
                        rejects.contains(&format!("corpus.jsonl.zst:{n}")),
                        "line {n} not rejected at its line: {rejects}"
                    );
                }
                reference = Some((label, bytes, c));
            }
            Some((ref_label, ref_bytes, ref_counts)) => {
                assert!(
                    bytes[0] == ref_bytes[0],
                    "corpus.parquet differs between {ref_label} and {label}"
                );
                assert!(
                    bytes[1] == ref_bytes[1],
                    "rejects.jsonl differs between {ref_label} and {label}"
                );
                assert_eq!(&c, ref_counts, "counts differ: {ref_label} vs {label}");
            }
        }
    }
}
