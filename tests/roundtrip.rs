//! Real corpora through the binary and back: every reader/writer pair must keep what the
//! input says. MasakhaNER CoNLL → Parquet → CoNLL keeps tokens and tags; UD CoNLL-U with
//! multiword tokens, MasakhaNEWS TSV with quoted multi-line fields, AfriSenti TSV, MAFAND
//! bitext and the UDHR table go to JSON Lines with the expected records. Parquet output
//! must load in pandas and HF `datasets` (each skipped when not installed).
//!
//! Inputs are read in place from the shared data directory; tests skip when it is absent.

use crate::support::{data_file, lit, python, python_with, read_jsonl, run_config, stage, write};
use serde_json::Value;
use std::path::Path;

/// Sentences of a CoNLL file as (tokens, last-column tags); `-DOCSTART-` lines skipped.
fn conll_sentences(text: &str) -> Vec<(Vec<String>, Vec<String>)> {
    let mut out = Vec::new();
    let mut cur = (Vec::new(), Vec::new());
    for line in text.lines().map(str::trim_end) {
        if line.trim().is_empty() {
            if !cur.0.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if line.starts_with("-DOCSTART-") {
            continue;
        }
        let cols: Vec<&str> = line.split_whitespace().collect();
        cur.0.push(cols[0].to_string());
        cur.1.push(cols[cols.len() - 1].to_string());
    }
    if !cur.0.is_empty() {
        out.push(cur);
    }
    out
}

/// Runs a config in `dir` (workdir `dir/runs`) and returns the run directory.
fn run_ok(dir: &Path, name: &str, body: &str) -> std::path::PathBuf {
    let cfg = write(
        dir,
        &format!("{name}.toml"),
        &format!("[run]\nname = \"{name}\"\n\n{body}"),
    );
    run_config(dir, &cfg, &dir.join("runs"), &[]).expect_code(0, name);
    dir.join("runs").join(name)
}

#[test]
fn masakhaner_conll_to_parquet_and_back() {
    let input = data_file(
        "masakhaner_conll_to_parquet_and_back",
        "masakhaner2/yor/dev.txt",
    );
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    let run1 = run_ok(
        d,
        "to_parquet",
        &format!("[stages.ner]\ntype = \"conll_reader\"\npaths = [{}]\nlang = \"yor\"\ntag_name = \"ner_tags\"\n\n[stages.pq]\ntype = \"parquet_writer\"\ninputs = [\"ner\"]\npath = \"ner.parquet\"\n", lit(&input)),
    );
    let parquet = run1.join("ner.parquet");
    assert!(
        parquet.exists(),
        "parquet_writer wrote no {}",
        parquet.display()
    );
    let run2 = run_ok(
        d,
        "to_conll",
        &format!("[stages.pq]\ntype = \"parquet_reader\"\npaths = [{}]\n\n[stages.out]\ntype = \"conll_writer\"\ninputs = [\"pq\"]\npath = \"ner.conll\"\ntag_field = \"ner_tags\"\n", lit(&parquet)),
    );
    let expected = conll_sentences(&std::fs::read_to_string(&input).expect("read input"));
    let got = conll_sentences(
        &std::fs::read_to_string(run2.join("ner.conll")).expect("read conll output"),
    );
    assert_eq!(
        got.len(),
        expected.len(),
        "sentence count changed in the round trip"
    );
    for (k, (g, e)) in got.iter().zip(&expected).enumerate() {
        assert_eq!(g, e, "sentence {k} differs after CoNLL → Parquet → CoNLL");
    }
    let m = crate::support::manifest(&run2);
    assert_eq!(
        stage(&m, "out")["counts"]["rejected"],
        0,
        "conll_writer rejected records: {m:#}"
    );

    {
        let py = python_with("masakhaner parquet in pandas", &["pandas", "pyarrow"]);
        let out = python(
            &py,
            "import sys, pandas as pd\nd = pd.read_parquet(sys.argv[1])\nprint(len(d), sorted(d.columns), sum(len(t) for t in d['tokens']), list(d['ner_tags'][0]))",
            &[&parquet.display().to_string()],
        );
        let ntok: usize = expected.iter().map(|s| s.0.len()).sum();
        let first_tags = format!("{:?}", expected[0].1).replace('"', "'");
        assert!(
            out.starts_with(&format!("{} ", expected.len())),
            "pandas row count: {out}"
        );
        for col in [
            "'id'",
            "'text'",
            "'lang'",
            "'source'",
            "'tokens'",
            "'ner_tags'",
        ] {
            assert!(out.contains(col), "pandas sees no column {col}: {out}");
        }
        assert!(
            out.contains(&format!(" {ntok} ")),
            "pandas token total differs (expected {ntok}): {out}"
        );
        assert!(
            out.ends_with(&first_tags),
            "pandas first ner_tags differ (expected {first_tags}): {out}"
        );
    }
}

#[test]
fn ud_conllu_with_multiword_tokens_to_jsonl() {
    let input = data_file(
        "ud_conllu_with_multiword_tokens_to_jsonl",
        "ud/UD_English-EWT/en_ewt-ud-test.conllu",
    );
    let tmp = tempfile::tempdir().expect("tempdir");
    let run = run_ok(
        tmp.path(),
        "ud",
        &format!("[stages.ud]\ntype = \"conllu_reader\"\npaths = [{}]\nlang = \"eng\"\n\n[stages.out]\ntype = \"jsonl_writer\"\ninputs = [\"ud\"]\npath = \"ud.jsonl\"\n", lit(&input)),
    );
    // Expected per sentence: sent_id, `# text`, and the syntactic words (integer ids):
    // multiword ranges (1-2) and empty nodes (8.1) are not words.
    let text = std::fs::read_to_string(&input).expect("read conllu");
    let mut expected: Vec<(String, String, Vec<String>, bool)> = Vec::new();
    let mut cur = (String::new(), String::new(), Vec::new(), false);
    for line in text.lines() {
        if line.is_empty() {
            if !cur.2.is_empty() {
                expected.push(std::mem::take(&mut cur));
            }
        } else if let Some(v) = line.strip_prefix("# sent_id = ") {
            cur.0 = v.to_string();
        } else if let Some(v) = line.strip_prefix("# text = ") {
            cur.1 = v.to_string();
        } else if !line.starts_with('#') {
            let cols: Vec<&str> = line.split('\t').collect();
            if cols[0].contains('-') {
                cur.3 = true;
            } else if !cols[0].contains('.') {
                cur.2.push(cols[1].to_string());
            }
        }
    }
    if !cur.2.is_empty() {
        expected.push(cur);
    }
    let got = read_jsonl(&run.join("ud.jsonl"));
    assert_eq!(got.len(), expected.len(), "one record per sentence");
    let mwt = expected.iter().filter(|e| e.3).count();
    assert!(
        mwt > 10,
        "the test file should have sentences with multiword tokens, found {mwt}"
    );
    for (g, (id, text, words, _)) in got.iter().zip(&expected) {
        assert_eq!(g["id"], id.as_str(), "record id is the sent_id");
        assert_eq!(g["text"], text.as_str(), "text of {id} is `# text`");
        let toks: Vec<&str> = g["tokens"]
            .as_array()
            .expect("tokens array")
            .iter()
            .map(|t| t.as_str().unwrap_or(""))
            .collect();
        assert_eq!(toks, *words, "tokens of {id} are the syntactic words");
        assert_eq!(g["lang"], "eng");
        for f in ["pos_tags", "lemmas", "heads", "deprels"] {
            assert_eq!(
                g[f].as_array().map(Vec::len),
                Some(words.len()),
                "{f} of {id} has one entry per word"
            );
        }
    }
}

/// Row count of a TSV as pandas reads it (`quoting` = csv.QUOTE_* constant).
fn pandas_rows(test: &str, path: &Path, quoting: u8) -> usize {
    let py = python_with(test, &["pandas"]);
    let out = python(&py, "import sys, pandas as pd\nprint(len(pd.read_csv(sys.argv[1], sep='\\t', quoting=int(sys.argv[2]))))", &[&path.display().to_string(), &quoting.to_string()]);
    out.parse().expect("pandas count")
}

#[test]
fn masakhanews_tsv_with_multiline_fields_to_jsonl() {
    let input = data_file(
        "masakhanews_tsv_with_multiline_fields_to_jsonl",
        "masakhanews/eng/dev.tsv",
    );
    let tmp = tempfile::tempdir().expect("tempdir");
    let run = run_ok(
        tmp.path(),
        "news",
        &format!("[stages.news]\ntype = \"tsv_reader\"\npaths = [{}]\nlang = \"eng\"\ntext_field = \"text\"\nlabel_field = \"category\"\n\n[stages.out]\ntype = \"jsonl_writer\"\ninputs = [\"news\"]\npath = \"news.jsonl\"\n", lit(&input)),
    );
    let got = read_jsonl(&run.join("news.jsonl"));
    let multiline = got
        .iter()
        .filter(|r| r["text"].as_str().is_some_and(|t| t.contains('\n')))
        .count();
    assert!(
        multiline > 0,
        "quoted fields with line breaks must keep them"
    );
    assert!(
        got.iter()
            .all(|r| r["label"].is_string() && r["headline"].is_string()),
        "every record has label and headline"
    );
    let m = crate::support::manifest(&run);
    assert_eq!(stage(&m, "news")["counts"]["rejected"], 0);
    {
        let n = pandas_rows("masakhanews count", &input, 0);
        assert_eq!(got.len(), n, "record count equals pandas' row count");
    }
    let labels = std::fs::read_to_string(input.with_file_name("labels.txt")).unwrap_or_default();
    for r in &got {
        let l = r["label"].as_str().unwrap_or("");
        assert!(
            labels.is_empty() || labels.lines().any(|x| x.trim() == l),
            "label {l:?} not in labels.txt"
        );
    }
}

#[test]
fn afrisenti_tsv_to_jsonl() {
    let input = data_file("afrisenti_tsv_to_jsonl", "afrisenti/hau/dev.tsv");
    let tmp = tempfile::tempdir().expect("tempdir");
    let run = run_ok(
        tmp.path(),
        "senti",
        &format!("[stages.tw]\ntype = \"tsv_reader\"\npaths = [{}]\nlang = \"hau\"\ntext_field = \"tweet\"\nlabel_field = \"label\"\nquoting = false\n\n[stages.out]\ntype = \"jsonl_writer\"\ninputs = [\"tw\"]\npath = \"senti.jsonl\"\n", lit(&input)),
    );
    let got = read_jsonl(&run.join("senti.jsonl"));
    let raw = std::fs::read_to_string(&input).expect("read");
    let lines: Vec<&str> = raw.lines().skip(1).filter(|l| !l.is_empty()).collect();
    assert_eq!(got.len(), lines.len(), "one record per data row");
    for (g, l) in got.iter().zip(&lines) {
        let (tweet, label) = l.rsplit_once('\t').expect("tweet<TAB>label");
        assert_eq!(
            g["text"], tweet,
            "tweet text kept verbatim (quotes included)"
        );
        assert_eq!(g["label"], label);
    }
    {
        let n = pandas_rows("afrisenti count", &input, 3);
        assert_eq!(
            got.len(),
            n,
            "record count equals pandas' (QUOTE_NONE) row count"
        );
    }
}

#[test]
fn mafand_bitext_to_jsonl_with_translation() {
    let en = data_file(
        "mafand_bitext_to_jsonl_with_translation",
        "mafand_mt/en-yor/dev.en",
    );
    let yo = en.with_file_name("dev.yor");
    let tmp = tempfile::tempdir().expect("tempdir");
    let run = run_ok(
        tmp.path(),
        "mt",
        &format!("[stages.bitext]\ntype = \"parallel_reader\"\nsource_paths = [{}]\ntarget_paths = [{}]\nsource_lang = \"eng\"\ntarget_lang = \"yor\"\n\n[stages.out]\ntype = \"jsonl_writer\"\ninputs = [\"bitext\"]\npath = \"mt.jsonl\"\n", lit(&en), lit(&yo)),
    );
    let got = read_jsonl(&run.join("mt.jsonl"));
    let ens = std::fs::read_to_string(&en).expect("read en");
    let yos = std::fs::read_to_string(&yo).expect("read yor");
    let pairs: Vec<(&str, &str)> = ens
        .lines()
        .zip(yos.lines())
        .filter(|(a, b)| !(a.trim().is_empty() && b.trim().is_empty()))
        .collect();
    assert_eq!(got.len(), pairs.len(), "one record per non-blank line pair");
    for (g, (a, b)) in got.iter().zip(&pairs) {
        assert_eq!(
            g["translation"]["eng"], *a,
            "translation.eng is the English line"
        );
        assert_eq!(
            g["translation"]["yor"], *b,
            "translation.yor is the Yoruba line"
        );
        assert_eq!(g["lang"], "eng");
    }
}

#[test]
fn udhr_paragraph_table_to_jsonl() {
    let input = data_file("udhr_paragraph_table_to_jsonl", "udhr/udhr_paragraphs.tsv");
    let tmp = tempfile::tempdir().expect("tempdir");
    let run = run_ok(
        tmp.path(),
        "udhr",
        &format!("[stages.udhr]\ntype = \"tsv_reader\"\npaths = [{}]\ntext_field = \"text\"\n\n[stages.out]\ntype = \"jsonl_writer\"\ninputs = [\"udhr\"]\npath = \"udhr.jsonl\"\n", lit(&input)),
    );
    let got = read_jsonl(&run.join("udhr.jsonl"));
    let rows: Vec<Vec<String>> = std::fs::read_to_string(&input)
        .expect("read")
        .lines()
        .skip(1)
        .map(|l| l.split('\t').map(String::from).collect())
        .collect();
    assert_eq!(got.len(), rows.len(), "one record per paragraph");
    for (g, r) in got.iter().zip(&rows) {
        assert_eq!(
            g["lang"],
            r[0].as_str(),
            "the lang column is the record's lang"
        );
        assert_eq!(g["section"], r[1].as_str());
        assert_eq!(
            g["para"],
            Value::String(r[2].clone()),
            "other columns are string fields"
        );
        assert_eq!(g["text"], r[3].as_str());
    }
    {
        let n = pandas_rows("udhr count", &input, 0);
        assert_eq!(got.len(), n, "record count equals pandas' row count");
    }
}
