//! Sharded runs of the stages beyond dedup that look at the whole corpus:
//! `decontaminate` (shard-independent: every shard loads the eval set, so a sharded run
//! drops the single run's records with the same reasons, without a reduce) and
//! `order_curriculum` (global: scores fitted on the whole corpus, one global order; the
//! shards' outputs merged by `mavuno reduce --merge` equal the single run's output byte
//! for byte). Both on real text (Masakhane raw Hausa and Yoruba, the corpus of
//! `global_dedup`), for n = 1, 3 and 7 shards.

use crate::global_dedup::{corpus, run_sharded};
use crate::support::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// An eval set made of the corpus: every 23rd line of each input file verbatim (changed
/// in case: an exact match after normalisation) and, from every 31st line, its first 14
/// words inside other text (a shared 13-gram).
fn eval_set(d: &Path, files: &[PathBuf]) -> PathBuf {
    let mut eval = Vec::new();
    for f in files {
        let t = std::fs::read_to_string(f).expect("read input");
        for (k, line) in t.lines().enumerate() {
            if k % 23 == 0 {
                eval.push(line.to_lowercase());
            } else if k % 31 == 0 {
                let words: Vec<&str> = line.split_whitespace().collect();
                if words.len() >= 14 {
                    eval.push(format!("Swali: {} ?", words[..14].join(" ")));
                }
            }
        }
    }
    write(d, "eval/dev.txt", &(eval.join("\n") + "\n"))
}

/// What the decontamination of a run (or the union of a sharded run's shards) did.
#[derive(Debug, PartialEq, Default)]
struct Decon {
    /// (id, text) of every record written.
    kept: BTreeMap<(String, String), usize>,
    /// Records dropped per reason, and the stage's counters.
    dropped: BTreeMap<String, u64>,
    counters: BTreeMap<String, u64>,
}

fn add_decon(o: &mut Decon, dir: &Path) {
    for r in read_jsonl(&dir.join("out.jsonl")) {
        let k = (
            r["id"].as_str().unwrap_or("").to_string(),
            r["text"].as_str().unwrap_or("").to_string(),
        );
        *o.kept.entry(k).or_insert(0) += 1;
    }
    let m = manifest(dir);
    let s = stage(&m, "decon");
    assert_eq!(s["status"], "ran", "{}", dir.display());
    for (key, into) in [("dropped", &mut o.dropped), ("counters", &mut o.counters)] {
        for (k, v) in s["counts"][key].as_object().into_iter().flatten() {
            *into.entry(k.clone()).or_insert(0) += v.as_u64().unwrap_or(0);
        }
    }
}

#[test]
fn sharded_decontaminate_drops_what_the_single_run_drops() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    let files = corpus(d);
    let eval = eval_set(d, &files);
    let paths: Vec<String> = files.iter().map(|p| lit(p)).collect();
    let cfg = write(
        d,
        "decon.toml",
        &format!(
            "[run]\nname = \"g\"\nshard_by = \"record\"\n\n\
             [stages.raw]\ntype = \"text_reader\"\npaths = [{}]\n\n\
             [stages.decon]\ntype = \"decontaminate\"\ninputs = [\"raw\"]\neval_paths = [{}]\n\n\
             [stages.out]\ntype = \"jsonl_writer\"\ninputs = [\"decon\"]\npath = \"out.jsonl\"\n",
            paths.join(", "),
            lit(&eval)
        ),
    );
    let single_runs = d.join("single");
    run_config(d, &cfg, &single_runs, &[]).expect_code(0, "single run");
    let mut single = Decon::default();
    add_decon(&mut single, &single_runs.join("g"));
    let exact = single.counters.get("eval_overlap_exact_total").copied();
    let ngram = single.counters.get("eval_overlap_ngram_total").copied();
    assert!(
        exact.unwrap_or(0) >= 50 && ngram.unwrap_or(0) >= 20,
        "the eval set contaminates the corpus both ways: {single:?}"
    );
    for n in [1u64, 3, 7] {
        let runs = d.join(format!("runs-{n}"));
        let reduced = run_sharded(d, &cfg, &runs, n, 1);
        assert!(
            reduced.is_empty(),
            "decontaminate needs no reduce: {reduced:?}"
        );
        let mut union = Decon::default();
        for i in 0..n {
            add_decon(&mut union, &runs.join(format!("g/shard-{i}-of-{n}")));
        }
        assert_eq!(union, single, "n = {n}: kept, dropped and counters");
    }
}
