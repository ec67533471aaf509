//! Sharded runs of the stages beyond dedup that look at the whole corpus:
//! `decontaminate` (shard-independent: every shard loads the eval set, so a sharded run
//! drops the single run's records with the same reasons, without a reduce) and
//! `order_curriculum` (global: scores fitted on the whole corpus, one global order; the
//! shards' outputs merged by `mavuno reduce --merge` equal the single run's output byte
//! for byte). Both on real text (Masakhane raw Hausa and Yoruba, the corpus of
//! `global_dedup`), for n = 1, 3 and 7 shards.

use crate::global_dedup::{corpus, run_scripts, run_sharded, slurm_dry_run};
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

/// raw → dedup_exact → order_curriculum (`scorer`) → out.jsonl, split by `shard_by`.
fn curriculum_config(d: &Path, files: &[PathBuf], scorer: &str, shard_by: &str) -> PathBuf {
    let paths: Vec<String> = files.iter().map(|p| lit(p)).collect();
    write(
        d,
        &format!("cur-{scorer}-{shard_by}.toml"),
        &format!(
            "[run]\nname = \"g\"\nshard_by = \"{shard_by}\"\n\n\
             [stages.raw]\ntype = \"text_reader\"\npaths = [{}]\n\n\
             [stages.exact]\ntype = \"dedup_exact\"\ninputs = [\"raw\"]\n\n\
             [stages.curriculum]\ntype = \"order_curriculum\"\ninputs = [\"exact\"]\n\
             scorer = \"{scorer}\"\npath = \"curriculum.json\"\n\n\
             [stages.out]\ntype = \"jsonl_writer\"\ninputs = [\"curriculum\"]\npath = \"out.jsonl\"\n",
            paths.join(", ")
        ),
    )
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

/// `mavuno reduce --stage curriculum --merge` over the finished shards of `runs`.
fn merge(d: &Path, cfg: &Path, runs: &Path) {
    run_in(
        d,
        &[
            "reduce",
            &cfg.display().to_string(),
            "--workdir",
            &runs.display().to_string(),
            "--stage",
            "curriculum",
            "--merge",
        ],
    )
    .expect_code(0, "reduce --merge");
}

#[test]
fn sharded_curriculum_order_equals_the_single_run_byte_for_byte() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    let files = corpus(d);
    // ngram_ppl fits a Kneser–Ney model on the whole corpus; length has many ties, which
    // the global order (input file, then line) breaks.
    for (scorer, shard_by, counts) in [
        ("ngram_ppl", "record", &[1u64, 3, 7][..]),
        ("length", "file", &[3][..]),
    ] {
        let cfg = curriculum_config(d, &files, scorer, shard_by);
        let single_runs = d.join(format!("single-{scorer}"));
        run_config(d, &cfg, &single_runs, &[]).expect_code(0, "single run");
        let single = read(&single_runs.join("g/out.jsonl"));
        let recs = read_jsonl(&single_runs.join("g/out.jsonl"));
        assert!(recs.len() > 2000, "{} records", recs.len());
        for (k, r) in recs.iter().enumerate() {
            assert_eq!(r["curriculum_rank"], k as u64, "rank of line {k}");
        }
        let ties = recs
            .windows(2)
            .filter(|w| w[0]["difficulty"] == w[1]["difficulty"])
            .count();
        if scorer == "length" {
            assert!(ties > 1000, "length scores tie often ({ties})");
        }
        for &n in counts {
            let runs = d.join(format!("runs-{scorer}-{n}"));
            let reduced = run_sharded(d, &cfg, &runs, n, 1);
            assert_eq!(reduced, ["exact", "curriculum"], "n = {n}");
            merge(d, &cfg, &runs);
            assert!(
                read(&runs.join("g/out.jsonl")) == single,
                "{scorer}, n = {n}: merged output differs from the single run's"
            );
            assert_eq!(
                read(&runs.join("g/curriculum.json")),
                read(&single_runs.join("g/curriculum.json")),
                "{scorer}, n = {n}: curriculum manifest"
            );
            if n > 1 {
                // Each shard holds a part, in rank order.
                let part = read_jsonl(&runs.join(format!("g/shard-1-of-{n}/out.jsonl")));
                assert!(!part.is_empty() && part.len() < recs.len());
            }
        }
    }
}

/// `mavuno slurm --band-ranges 2` with a global order_curriculum: its reduce is one task,
/// and a merge job ends the chain; running the scripts gives the single run's bytes.
/// `--merge` of a stage that does not order is an error.
#[test]
fn slurm_chain_of_a_global_curriculum_ends_with_the_merge() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    let files = corpus(d);
    let cfg = curriculum_config(d, &files, "unigram_ppl", "record");
    let single_runs = d.join("single");
    run_config(d, &cfg, &single_runs, &[]).expect_code(0, "single run");
    let runs = d.join("runs");
    let (cfgs, runss) = (cfg.display().to_string(), runs.display().to_string());
    let (_, scripts, names) = slurm_dry_run(d, &cfg, &runs, 3, 2);
    assert_eq!(
        names,
        [
            "00-shards-0.sbatch",
            "01-reduce-exact.sbatch",
            "02-shards-1.sbatch",
            "03-reduce-curriculum.sbatch",
            "04-shards-2.sbatch",
            "05-merge-curriculum.sbatch",
        ]
    );
    let text = |i: usize| std::fs::read_to_string(&scripts[i]).expect("script");
    assert!(text(1).contains("#SBATCH --array=0-1\n"));
    assert!(!text(3).contains("--array") && !text(3).contains("--band-range"));
    assert!(text(5).contains("--merge") && !text(5).contains("--array"));
    run_scripts(&scripts);
    assert!(
        read(&runs.join("g/out.jsonl")) == read(&single_runs.join("g/out.jsonl")),
        "the Slurm chain's merged output equals the single run's"
    );
    let r = run_in(
        d,
        &[
            "reduce",
            &cfgs,
            "--workdir",
            &runss,
            "--stage",
            "exact",
            "--merge",
        ],
    );
    assert!(
        r.code != 0 && r.stderr.contains("does not order the corpus"),
        "{}",
        r.stderr
    );
}
