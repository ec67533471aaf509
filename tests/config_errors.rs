//! Config errors as a user sees them: `mavuno run <case>.toml` must exit 2 and print
//! exactly `tests/golden/config_errors/<case>.stderr`. A `<case>.args` file (one argument
//! per line) adds arguments, e.g. `--set` overrides. `UPDATE_GOLDEN=1 cargo test`
//! rewrites the `.stderr` files.
//!
//! Also: every pipeline config shipped in `configs/` validates with `mavuno plan`.

use crate::support::{repo_root, run_in};
use std::path::{Path, PathBuf};

fn golden_dir() -> PathBuf {
    repo_root().join("tests/golden/config_errors")
}

/// Runs one golden case from inside the golden directory, so paths in messages are the
/// bare file name.
fn check(case: &str) {
    let dir = golden_dir();
    let toml = dir.join(format!("{case}.toml"));
    assert!(toml.exists(), "missing golden config {}", toml.display());
    let work = tempfile::tempdir().expect("tempdir");
    let workdir = work.path().display().to_string();
    let mut args: Vec<String> = vec![
        "run".into(),
        format!("{case}.toml"),
        "--workdir".into(),
        workdir,
    ];
    if let Ok(extra) = std::fs::read_to_string(dir.join(format!("{case}.args"))) {
        args.extend(extra.lines().filter(|l| !l.is_empty()).map(String::from));
    }
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = run_in(&dir, &a);
    assert!(
        !r.stderr.contains("panicked"),
        "{case}: the binary panicked:\n{}",
        r.stderr
    );
    assert_eq!(
        r.code, 2,
        "{case}: config errors must exit 2; stderr:\n{}",
        r.stderr
    );
    assert!(
        std::fs::read_dir(work.path())
            .map(|d| d.count())
            .unwrap_or(0)
            == 0,
        "{case}: a run with config errors must not create a run directory"
    );
    let expected_path = dir.join(format!("{case}.stderr"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&expected_path, &r.stderr).expect("write golden");
        return;
    }
    let expected = std::fs::read_to_string(&expected_path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with UPDATE_GOLDEN=1 to create it)",
            expected_path.display()
        )
    });
    assert_eq!(
        r.stderr,
        expected,
        "{case}: stderr differs from {} (UPDATE_GOLDEN=1 rewrites it)",
        expected_path.display()
    );
}

#[test]
fn unknown_stage_type_suggests_the_closest() {
    check("unknown_stage_type");
}

#[test]
fn unknown_field_suggests_the_closest() {
    check("unknown_field");
}

#[test]
fn input_naming_no_stage() {
    check("unknown_input");
}

#[test]
fn cycle_is_printed_as_a_path() {
    check("cycle");
}

#[test]
fn values_out_of_range() {
    check("out_of_range");
}

#[test]
fn several_errors_are_all_reported() {
    check("several_errors");
}

#[test]
fn bad_set_overrides() {
    check("bad_set");
}

#[test]
fn every_golden_case_has_a_test() {
    let mut cases: Vec<String> = std::fs::read_dir(golden_dir())
        .expect("golden dir")
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".toml"))
                .map(String::from)
        })
        .collect();
    cases.sort();
    let src = std::fs::read_to_string(repo_root().join("tests/config_errors.rs"))
        .expect("read own source");
    for c in cases {
        assert!(
            src.contains(&format!("check(\"{c}\")")),
            "golden case {c}.toml has no test in tests/config_errors.rs"
        );
    }
}

fn pipeline_configs(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            pipeline_configs(&p, out);
        } else if p.extension().is_some_and(|x| x == "toml") {
            // configs/filters/<lang>.toml are filter defaults embedded in the binary, not
            // pipelines: only files with a [stages] table are run configs.
            let text = std::fs::read_to_string(&p).unwrap_or_default();
            if text
                .parse::<toml::Table>()
                .map(|t| t.contains_key("stages"))
                .unwrap_or(true)
            {
                out.push(p);
            }
        }
    }
}

#[test]
fn every_shipped_config_validates() {
    let mut configs = Vec::new();
    pipeline_configs(&repo_root().join("configs"), &mut configs);
    configs.sort();
    assert!(
        !configs.is_empty(),
        "no pipeline configs found under configs/"
    );
    let work = tempfile::tempdir().expect("tempdir");
    let mut failures = Vec::new();
    for c in &configs {
        let r = run_in(
            &repo_root(),
            &[
                "plan",
                &c.display().to_string(),
                "--workdir",
                &work.path().display().to_string(),
            ],
        );
        if r.code != 0 {
            failures.push(format!("{} (exit {}):\n{}", c.display(), r.code, r.stderr));
        }
    }
    assert!(
        failures.is_empty(),
        "configs that do not validate:\n{}",
        failures.join("\n")
    );
}

/// A value of the wrong type or variant must name its field (and line), like every other
/// config error, and every such error in `[run]` must be reported, not only the first.
#[test]
fn type_errors_name_the_field() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cfg = crate::support::write(
        tmp.path(),
        "types.toml",
        "[run]\nbatch_size = -1\nthreads = \"many\"\n\n[stages.raw]\ntype = \"text_reader\"\npaths = [\"x.txt\"]\nmode = \"sentence\"\n\n[stages.out]\ntype = \"jsonl_writer\"\ninputs = [\"raw\"]\npath = \"out.jsonl\"\n",
    );
    let r = run_in(tmp.path(), &["run", &cfg.display().to_string()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    for want in [
        "types.toml:8: stages.raw.mode:",
        "types.toml:2: run.batch_size:",
        "types.toml:3: run.threads:",
    ] {
        assert!(
            r.stderr.contains(want),
            "expected an error starting `{want}`; got:\n{}",
            r.stderr
        );
    }
}
