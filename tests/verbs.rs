//! Verbs are one-stage plans: each verb that does a stage's job writes the same bytes as
//! the equivalent one-stage config run with `mavuno run` on the same input (see #14).
//! Also the engine's run-directory lock and failed manifest, through the binary.

use crate::support::{lit, manifest, run_config, run_in, synthetic_lines, write};
use std::path::Path;

/// `mavuno run` of `stages` (TOML text without `[run]`) named `name` in `d/runs`.
fn run_stages(d: &Path, name: &str, stages: &str) -> std::path::PathBuf {
    let cfg = write(
        d,
        &format!("{name}.toml"),
        &format!("[run]\nname = \"{name}\"\n{stages}"),
    );
    let work = d.join("runs");
    run_config(d, &cfg, &work, &[]).expect_code(0, name);
    work.join(name)
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// See: #14.
#[test]
fn issue_14_tokenizer_train_equals_the_train_tokenizer_stage() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    let input = write(d, "corpus.txt", &synthetic_lines(300, 11));
    let verb_out = d.join("verb-tokenizer.json");
    run_in(
        d,
        &[
            "tokenizer",
            "train",
            "--type",
            "wordpiece",
            "--vocab-size",
            "200",
            "-o",
            verb_out.to_str().unwrap_or_default(),
            input.to_str().unwrap_or_default(),
        ],
    )
    .expect_code(0, "mavuno tokenizer train");
    let stage_out = d.join("stage-tokenizer.json");
    run_stages(
        d,
        "tok",
        &format!(
            "[stages.raw]\ntype = \"text_reader\"\npaths = [{}]\n\
             [stages.tok]\ntype = \"train_tokenizer\"\ninputs = [\"raw\"]\nmodel = \"wordpiece\"\n\
             vocab_size = 200\npath = {}\n",
            lit(&input),
            lit(&stage_out)
        ),
    );
    assert!(!read(&verb_out).is_empty());
    assert_eq!(read(&verb_out), read(&stage_out));
}

/// See: #14.
#[test]
fn issue_14_curriculum_order_equals_the_order_curriculum_stage() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    let input = write(d, "corpus.txt", &synthetic_lines(120, 5));
    let verb_out = d.join("verb.jsonl");
    run_in(
        d,
        &[
            "curriculum",
            "order",
            "--scorer",
            "unigram_ppl",
            "--input",
            input.to_str().unwrap_or_default(),
            "-o",
            verb_out.to_str().unwrap_or_default(),
            "--set",
            "smoothing_k=0.5",
        ],
    )
    .expect_code(0, "mavuno curriculum order");
    let stage_out = d.join("stage.jsonl");
    run_stages(
        d,
        "order",
        &format!(
            "[stages.raw]\ntype = \"text_reader\"\npaths = [{}]\n\
             [stages.order]\ntype = \"order_curriculum\"\ninputs = [\"raw\"]\nscorer = \"unigram_ppl\"\n\
             smoothing_k = 0.5\npath = \"curriculum.json\"\n\
             [stages.out]\ntype = \"jsonl_writer\"\ninputs = [\"order\"]\npath = {}\n",
            lit(&input),
            lit(&stage_out)
        ),
    );
    let verb = read(&verb_out);
    assert_eq!(String::from_utf8_lossy(&verb).lines().count(), 120);
    assert_eq!(verb, read(&stage_out));
}

/// See: #14. `tag apply` is the one-stage plan of the model's stage: a `.txt` holding
/// `token TAG` lines is read as CoNLL (not as raw text with `B-PER` as words), the shipped
/// model is found from any working directory, and the bytes equal `tag_pos`'s run.
#[test]
fn issue_14_tag_apply_equals_the_tag_pos_stage() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    let input = write(
        d,
        "test.txt",
        "Ọmọ NOUN\nmi PRON\nlọ VERB\nsí ADP\nọjà NOUN\n. PUNCT\n\nAdé PROPN\njẹun VERB\n\n",
    );
    let verb_out = d.join("verb.conll");
    run_in(
        d,
        &[
            "tag",
            "apply",
            "--model",
            "models/tag/pos-yor.mvt",
            input.to_str().unwrap_or_default(),
            "-o",
            verb_out.to_str().unwrap_or_default(),
        ],
    )
    .expect_code(0, "mavuno tag apply");
    let stage_out = d.join("stage.conll");
    run_stages(
        d,
        "tag",
        &format!(
            "[stages.raw]\ntype = \"conll_reader\"\npaths = [{}]\n\
             [stages.pos]\ntype = \"tag_pos\"\ninputs = [\"raw\"]\nmodel = \"models/tag/pos-yor.mvt\"\n\
             [stages.out]\ntype = \"conll_writer\"\ninputs = [\"pos\"]\ntag_field = \"pos_tags\"\npath = {}\n",
            lit(&input),
            lit(&stage_out)
        ),
    );
    let verb = String::from_utf8_lossy(&read(&verb_out)).into_owned();
    let words: Vec<&str> = verb.lines().filter_map(|l| l.split('\t').next()).collect();
    assert_eq!(
        words,
        ["Ọmọ", "mi", "lọ", "sí", "ọjà", ".", "", "Adé", "jẹun", ""],
        "{verb}"
    );
    assert!(
        !verb.contains("NOUN\tNOUN"),
        "the gold column was read as a word"
    );
    assert_eq!(read(&verb_out), read(&stage_out));
}

/// See: #14. `--set` on a verb is the stage's option, and its error names the argument.
#[test]
fn issue_14_verb_set_errors_point_at_the_argument() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    let input = write(d, "corpus.txt", &synthetic_lines(5, 5));
    let r = run_in(
        d,
        &[
            "curriculum",
            "order",
            "--scorer",
            "length",
            "--input",
            input.to_str().unwrap_or_default(),
            "-o",
            "out.jsonl",
            "--set",
            "smoothing_kk=0.5",
        ],
    );
    r.expect_code(2, "bad --set");
    assert!(
        r.stderr.contains(
            "error: --set stages.stage.smoothing_kk=0.5: stages.stage.smoothing_kk: unknown field"
        ),
        "{}",
        r.stderr
    );
}

/// See: #14. A second run on a run directory that a live process holds fails at start,
/// naming the process, and touches nothing there.
#[test]
fn issue_14_second_run_on_a_busy_run_directory_fails_at_start() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    let input = write(d, "in.txt", &synthetic_lines(10, 1));
    let cfg = write(
        d,
        "busy.toml",
        &format!(
            "[run]\nname = \"busy\"\n[stages.raw]\ntype = \"text_reader\"\npaths = [{}]\n\
             [stages.out]\ntype = \"jsonl_writer\"\ninputs = [\"raw\"]\npath = \"out.jsonl\"\n",
            lit(&input)
        ),
    );
    let work = d.join("runs");
    let dir = work.join("busy");
    std::fs::create_dir_all(&dir).expect("mkdir");
    // This test process is alive: it holds the directory.
    let me = std::process::id();
    std::fs::write(dir.join(".lock"), me.to_string()).expect("lock");
    let r = run_config(d, &cfg, &work, &[]);
    r.expect_code(1, "second run");
    assert!(
        r.stderr
            .contains(&format!("run directory is in use (pid {me})")),
        "{}",
        r.stderr
    );
    assert!(!dir.join("manifest.json").exists() && !dir.join("out.jsonl").exists());
    // Once the holder is gone, the run takes the directory over.
    std::fs::remove_file(dir.join(".lock")).expect("unlock");
    run_config(d, &cfg, &work, &[]).expect_code(0, "run after the lock is released");
    assert!(
        !dir.join(".lock").exists(),
        "the lock is released at the end"
    );
}

/// See: #14. A run that fails (here: a stage cannot be built) leaves a failed manifest.
#[test]
fn issue_14_a_failed_run_writes_a_failed_manifest() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    let input = write(d, "in.txt", &synthetic_lines(10, 1));
    let cfg = write(
        d,
        "fail.toml",
        &format!(
            "[run]\nname = \"fail\"\n[stages.raw]\ntype = \"text_reader\"\npaths = [{}]\n\
             [stages.pos]\ntype = \"tag_pos\"\ninputs = [\"raw\"]\nmodel = \"no/such/model.mvt\"\n\
             [stages.out]\ntype = \"jsonl_writer\"\ninputs = [\"pos\"]\npath = \"out.jsonl\"\n",
            lit(&input)
        ),
    );
    let work = d.join("runs");
    let r = run_config(d, &cfg, &work, &[]);
    r.expect_code(1, "run with a missing model");
    let m = manifest(&work.join("fail"));
    assert_eq!(m["status"], "failed", "{m:#}");
    assert!(
        m["error"]
            .as_str()
            .is_some_and(|e| e.contains("stage `pos` failed") && e.contains("no/such/model.mvt")),
        "{m:#}"
    );
}
