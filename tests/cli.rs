//! The other subcommands through the binary: `stages` lists every registered type with
//! its options, `inspect` prints rows and schema of Parquet, JSONL.zst, CoNLL-U and TSV
//! files, `doctor` reports CUDA either way, `plan` shows stages cached after a run, and
//! `--shard 0/2` + `--shard 1/2` together write exactly the unsharded records (by whole
//! files and by record).

use crate::support::{lit, manifest, read_jsonl, run_config, run_in, synthetic_lines, write};
use std::collections::BTreeMap;
use std::path::Path;

#[test]
fn stages_lists_every_registered_type_with_options() {
    // `mavuno stages` lists the data stages and the libtorch stages (via mavuno-torch).
    let mut reg = mavuno_stages::registry();
    mavuno_models::register_all(&mut reg);
    let tmp = tempfile::tempdir().expect("tempdir");
    let list = run_in(tmp.path(), &["stages", "--list"]);
    list.expect_code(0, "mavuno stages --list");
    let full = run_in(tmp.path(), &["stages"]);
    full.expect_code(0, "mavuno stages");
    let listed: Vec<&str> = list
        .stdout
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let registered: Vec<&str> = reg.entries().iter().map(|e| e.type_name).collect();
    assert_eq!(
        listed, registered,
        "`stages --list` lists every registered type, in registry order"
    );
    for e in reg.entries() {
        let header = format!("{} (", e.type_name);
        let start = full
            .stdout
            .lines()
            .position(|l| l.starts_with(&header))
            .unwrap_or_else(|| panic!("`mavuno stages` has no section for {}", e.type_name));
        let section: Vec<&str> = full
            .stdout
            .lines()
            .skip(start + 1)
            .take_while(|l| !l.is_empty())
            .collect();
        assert!(
            section
                .iter()
                .any(|l| l.contains("fields (plus `type`, `inputs`, `checkpoint`, `seed`)")),
            "{}: no fields list",
            e.type_name
        );
        for f in e.fields() {
            assert!(
                section
                    .iter()
                    .any(|l| l.trim_start().starts_with(&format!("{} : ", f.name))),
                "{}: option {} not listed",
                e.type_name,
                f.name
            );
        }
    }
    let one = run_in(tmp.path(), &["stages", "dedup_near"]);
    one.expect_code(0, "mavuno stages dedup_near");
    assert!(
        one.stdout.starts_with("dedup_near ("),
        "one type only: {}",
        one.stdout
    );
    let typo = run_in(tmp.path(), &["stages", "dedup_neer"]);
    assert_eq!(typo.code, 2, "unknown type exits 2");
    assert!(
        typo.stderr.contains("did you mean \"dedup_near\"?"),
        "suggests the closest type: {}",
        typo.stderr
    );
}

/// Writes a small corpus as Parquet and JSONL.zst with the binary; returns the run dir.
fn small_outputs(d: &Path) -> std::path::PathBuf {
    let input = write(d, "in.txt", &synthetic_lines(50, 3));
    let cfg = write(
        d,
        "out.toml",
        &format!("[run]\nname = \"small\"\n\n[stages.raw]\ntype = \"text_reader\"\npaths = [{}]\nlang = \"yor\"\n\n[stages.pq]\ntype = \"parquet_writer\"\ninputs = [\"raw\"]\npath = \"small.parquet\"\n\n[stages.js]\ntype = \"jsonl_writer\"\ninputs = [\"raw\"]\npath = \"small.jsonl.zst\"\n", lit(&input)),
    );
    run_config(d, &cfg, &d.join("runs"), &[]).expect_code(0, "small run");
    d.join("runs/small")
}

#[test]
fn inspect_prints_rows_and_schema() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    let run = small_outputs(d);
    let conllu = write(
        d,
        "s.conllu",
        "# sent_id = s1\n# text = Mo lọ.\n1\tMo\tmo\tPRON\t_\t_\t2\tnsubj\t_\t_\n2\tlọ\tlọ\tVERB\t_\t_\t0\troot\t_\tSpaceAfter=No\n3\t.\t.\tPUNCT\t_\t_\t2\tpunct\t_\t_\n\n# sent_id = s2\n# text = O wá\n1\tO\to\tPRON\t_\t_\t2\tnsubj\t_\t_\n2\twá\twá\tVERB\t_\t_\t0\troot\t_\t_\n\n",
    );
    let tsv = write(
        d,
        "s.tsv",
        "text\tlabel\nẹ kú àárọ̀\tpositive\n\"quoted\ttab\"\tneutral\nmo dúpẹ́\tpositive\n",
    );
    for (path, rows, fields) in [
        (run.join("small.parquet"), 50, vec!["lang: string"]),
        (run.join("small.jsonl.zst"), 50, vec!["lang: string"]),
        (
            conllu,
            2,
            vec![
                "tokens: list<string>",
                "pos_tags: list<string>",
                "heads: list<number>",
            ],
        ),
        (tsv, 3, vec!["label: string"]),
    ] {
        let r = run_in(d, &["inspect", &path.display().to_string(), "-n", "2"]);
        r.expect_code(0, &format!("inspect {}", path.display()));
        assert!(
            r.stdout.contains(&format!("rows: {rows}\n")),
            "inspect {}: expected rows: {rows}:\n{}",
            path.display(),
            r.stdout
        );
        assert!(
            r.stdout.contains("schema:\n  id: string\n  text: string\n"),
            "inspect {}: no schema:\n{}",
            path.display(),
            r.stdout
        );
        for f in fields {
            assert!(
                r.stdout.contains(&format!("  {f}\n")),
                "inspect {}: schema lacks `{f}`:\n{}",
                path.display(),
                r.stdout
            );
        }
        let records = r.stdout.lines().filter(|l| l.starts_with('{')).count();
        assert_eq!(records, 2, "inspect -n 2 prints two records:\n{}", r.stdout);
    }
    let missing = run_in(d, &["inspect", "nope.parquet"]);
    assert_ne!(missing.code, 0, "inspect of a missing file fails");
    assert!(
        missing.stderr.contains("nope.parquet"),
        "names the file: {}",
        missing.stderr
    );
}

#[test]
fn doctor_reports_cuda_either_way() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let r = run_in(tmp.path(), &["doctor"]);
    r.expect_code(0, "mavuno doctor");
    assert!(
        r.stdout.contains("CUDA: available") || r.stdout.contains("CUDA: not available"),
        "doctor must say whether CUDA is available:\n{}",
        r.stdout
    );
    // The binary's registry: data stages plus the libtorch stages of mavuno-models.
    let mut reg = mavuno_stages::registry();
    mavuno_models::register_all(&mut reg);
    let n = reg.entries().len();
    assert!(
        r.stdout.contains(&format!("stage types: {n}\n")),
        "doctor counts {n} stage types:\n{}",
        r.stdout
    );
    let j = run_in(tmp.path(), &["doctor", "--json"]);
    j.expect_code(0, "mavuno doctor --json");
    let v: serde_json::Value = serde_json::from_str(&j.stdout).expect("doctor --json prints JSON");
    assert!(
        v["torch"]["cuda_available"].is_boolean(),
        "doctor --json has torch.cuda_available: {v:#}"
    );
    // Run outside the repository, every shipped model is found beside the binary.
    let models = v["models"].as_array().expect("doctor --json lists models");
    assert!(
        models.len() > 1
            && models[0]["model"] == "models/lid/mavuno-lid-v1.bin"
            && models
                .iter()
                .all(|m| m["found"]["beside_binary"].is_string()),
        "{v:#}"
    );
    assert!(
        r.stdout
            .contains("models/tag/pos-yor.mvt: beside the binary"),
        "{}",
        r.stdout
    );
}

/// See: #14. `mavuno lid FILE` works from `/`: the default model is found beside the
/// binary, and the verb labels exactly as the `langid` stage does (retry included).
#[test]
fn issue_14_lid_works_from_root_and_matches_the_stage() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // A Yoruba sentence drowned in capitalised foreign names (`und` on a first look),
    // and a Hausa one.
    let text = "Ọmọ mi lọ Zbigniew Kowalczyk Przemysław Wojciechowski Grzegorz Szczepański Krzysztof Jabłoński\n\
                Yaron ya tafi kasuwa da safe yau domin ya sayi abinci\n";
    let input = write(tmp.path(), "in.txt", text);
    let input_s = input.display().to_string();
    let root = Path::new("/");
    for retry in [false, true] {
        let mut args = vec!["lid", input_s.as_str()];
        if retry {
            args.push("--retry-without-names");
        }
        let verb = run_in(root, &args);
        verb.expect_code(0, "mavuno lid from /");
        // The same texts through a one-stage langid config.
        let cfg = format!(
            "[run]\nname = \"lid{retry}\"\n[stages.raw]\ntype = \"text_reader\"\npaths = [{}]\n\
             [stages.lid]\ntype = \"langid\"\ninputs = [\"raw\"]\nretry_without_names = {retry}\n\
             [stages.out]\ntype = \"jsonl_writer\"\ninputs = [\"lid\"]\npath = \"out.jsonl\"\n",
            lit(&input)
        );
        let cfg_path = write(tmp.path(), &format!("lid{retry}.toml"), &cfg);
        let work = tmp.path().join("runs");
        run_config(root, &cfg_path, &work, &[]).expect_code(0, "one-stage langid config");
        let recs = read_jsonl(&work.join(format!("lid{retry}")).join("out.jsonl"));
        let staged: String = recs
            .iter()
            .map(|r| {
                format!(
                    "{}\t{:.4}\n",
                    r["lang"].as_str().unwrap_or(""),
                    r["lang_confidence"].as_f64().unwrap_or(-1.0)
                )
            })
            .collect();
        assert_eq!(verb.stdout, staged, "retry={retry}");
        let first = verb.stdout.lines().next().unwrap_or("");
        assert_eq!(first.starts_with("yor\t"), retry, "{}", verb.stdout);
    }
}

#[test]
fn plan_shows_stages_cached_after_a_run() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    let input = write(d, "in.txt", &synthetic_lines(100, 5));
    let cfg = write(
        d,
        "p.toml",
        &format!("[run]\nname = \"p\"\n\n[stages.raw]\ntype = \"text_reader\"\npaths = [{}]\n\n[stages.out]\ntype = \"jsonl_writer\"\ninputs = [\"raw\"]\npath = \"out.jsonl\"\n", lit(&input)),
    );
    let runs = d.join("runs").display().to_string();
    let cfgs = cfg.display().to_string();
    let before = run_in(d, &["plan", &cfgs, "--workdir", &runs]);
    before.expect_code(0, "plan before the run");
    assert!(
        !before.stdout.contains("[cached"),
        "nothing is cached before a run:\n{}",
        before.stdout
    );
    assert!(
        before.stdout.contains("[to run"),
        "plan says what will run:\n{}",
        before.stdout
    );
    run_config(d, &cfg, &d.join("runs"), &[]).expect_code(0, "run");
    let after = run_in(d, &["plan", &cfgs, "--workdir", &runs]);
    after.expect_code(0, "plan after the run");
    let line = |id: &str| {
        after
            .stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(id))
            .unwrap_or_else(|| panic!("plan has no line for {id}:\n{}", after.stdout))
            .to_string()
    };
    assert!(
        line("out").contains("[cached"),
        "the writer is cached after the run:\n{}",
        after.stdout
    );
    let changed = run_in(
        d,
        &[
            "plan",
            &cfgs,
            "--workdir",
            &runs,
            "--set",
            "stages.out.path=other.jsonl",
        ],
    );
    changed.expect_code(0, "plan with a changed writer");
    assert!(
        changed
            .stdout
            .lines()
            .any(|l| l.starts_with("  out") && l.contains("[to run")),
        "a changed config is not cached:\n{}",
        changed.stdout
    );
}

/// (id, text) → count over JSONL files.
fn multiset(files: &[&Path]) -> BTreeMap<(String, String), usize> {
    let mut m = BTreeMap::new();
    for f in files {
        for r in read_jsonl(f) {
            *m.entry((
                r["id"].as_str().unwrap_or("").to_string(),
                r["text"].as_str().unwrap_or("").to_string(),
            ))
            .or_insert(0) += 1;
        }
    }
    m
}

fn shards_cover_the_unsharded_run(shard_by: &str, files: usize) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    let mut paths = Vec::new();
    for k in 0..files {
        paths.push(lit(&write(
            d,
            &format!("in-{k}.txt"),
            &synthetic_lines(1000 + 37 * k, 2 * k as u64 + 1),
        )));
    }
    let cfg = write(
        d,
        "s.toml",
        &format!(
            "[run]\nname = \"s\"\nshard_by = \"{shard_by}\"\n\n[stages.raw]\ntype = \"text_reader\"\npaths = [{}]\n\n[stages.out]\ntype = \"jsonl_writer\"\ninputs = [\"raw\"]\npath = \"out.jsonl\"\n",
            paths.join(", ")
        ),
    );
    let runs = d.join("runs");
    let (cfgs, runss) = (cfg.display().to_string(), runs.display().to_string());
    run_in(d, &["run", &cfgs, "--workdir", &runss]).expect_code(0, "unsharded run");
    for i in 0..2 {
        run_in(
            d,
            &[
                "run",
                &cfgs,
                "--workdir",
                &runss,
                "--shard",
                &format!("{i}/2"),
            ],
        )
        .expect_code(0, &format!("shard {i}/2"));
    }
    let all = multiset(&[&runs.join("s/out.jsonl")]);
    let s0 = runs.join("s/shard-0-of-2/out.jsonl");
    let s1 = runs.join("s/shard-1-of-2/out.jsonl");
    let (m0, m1) = (multiset(&[&s0]), multiset(&[&s1]));
    assert!(
        !m0.is_empty() && !m1.is_empty(),
        "both shards get work ({} and {} records)",
        m0.len(),
        m1.len()
    );
    assert!(m0.keys().all(|k| !m1.contains_key(k)), "shards overlap");
    let union = multiset(&[&s0, &s1]);
    let missing: Vec<_> = all
        .keys()
        .filter(|k| union.get(*k) != all.get(*k))
        .take(3)
        .collect();
    let extra: Vec<_> = union
        .keys()
        .filter(|k| !all.contains_key(*k))
        .take(3)
        .collect();
    assert!(
        union == all,
        "shard 0/2 + shard 1/2 must hold exactly the unsharded records: {} vs {} distinct; \
         missing or miscounted (first 3): {missing:?}; extra (first 3): {extra:?}",
        union.len(),
        all.len()
    );
    let m = manifest(&runs.join("s/shard-1-of-2"));
    assert_eq!(m["shard"]["index"], 1, "the shard's manifest names it");
    let bad = run_in(d, &["run", &cfgs, "--workdir", &runss, "--shard", "2/2"]);
    assert_eq!(bad.code, 2, "--shard 2/2 is a usage error:\n{}", bad.stderr);
}

#[test]
fn shards_by_file_cover_the_unsharded_run() {
    shards_cover_the_unsharded_run("file", 3);
}

#[test]
fn shards_by_record_cover_the_unsharded_run() {
    shards_cover_the_unsharded_run("record", 1);
}

#[test]
fn clean_zulu_keeps_zulu_and_drops_other_languages() {
    // mavuno's own LID model labels Zulu (trained on MasakhaNER/POS and MAFAND Zulu);
    // lingua is not needed. Probe sentences written for this test.
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    let input = write(
        d,
        "in.txt",
        "Abantwana bafunda esikoleni njalo ekuseni ngaphambi kokuya emsebenzini.\n\
         Yara suna zuwa makaranta kowace safiya kafin iyayensu su tafi aiki.\n\
         The children go to school every morning before their parents leave for work.\n",
    );
    let out = d.join("out.jsonl");
    let runs = d.join("runs");
    run_in(
        d,
        &[
            "clean",
            "--lang",
            "zul",
            input.to_str().expect("utf-8 path"),
            "-o",
            out.to_str().expect("utf-8 path"),
            "--workdir",
            runs.to_str().expect("utf-8 path"),
            "--quiet",
        ],
    )
    .expect_code(0, "mavuno clean --lang zul");
    let kept = read_jsonl(&out);
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(kept[0]["lang"], "zul");
    assert!(kept[0]["text"]
        .as_str()
        .is_some_and(|t| t.starts_with("Abantwana")));
}
