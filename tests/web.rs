//! Web input through the binary: `mavuno clean --lang yor` on a `.warc.gz` (written with
//! the `warc` crate from the UDHR pages) extracts the pages' main text, keeps the Yoruba
//! sentences, drops the other languages and the page without text, and writes the
//! per-language site report.

use crate::support::{data_file, manifest, read_jsonl, run_in, stage};
use mavuno_stages::web::test_warc::{response, write_warc, WarcEntry};

#[test]
fn clean_reads_warc_pages_and_reports_sites() {
    let page = |code: &str| {
        let p = data_file("clean_reads_warc", &format!("udhr/html/{code}.html"));
        std::fs::read(p).expect("read UDHR page")
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    let warc = write_warc(
        d,
        "crawl.warc.gz",
        &[
            WarcEntry::info(),
            WarcEntry::request("https://www.udhr.test/yor.html"),
            response(
                "https://www.udhr.test/yor.html",
                "text/html; charset=utf-8",
                &page("yor"),
            ),
            response("https://eng.udhr.test/eng.html", "text/html", &page("eng")),
            response(
                "https://nav.test/",
                "text/html",
                b"<html><body><nav>Home</nav></body></html>",
            ),
        ],
    );
    let out = d.join("out.jsonl");
    let report = d.join("report");
    let p = |p: &std::path::Path| p.to_str().expect("utf-8 path").to_string();
    run_in(
        d,
        &[
            "clean",
            "--lang",
            "yor",
            &p(&warc),
            "-o",
            &p(&out),
            "--report",
            &p(&report),
            "--workdir",
            &p(&d.join("runs")),
            "--quiet",
        ],
    )
    .expect_code(0, "mavuno clean --lang yor crawl.warc.gz");
    let kept = read_jsonl(&out);
    assert!(kept.len() > 40, "{} sentences kept", kept.len());
    for r in &kept {
        assert_eq!(r["lang"], "yor", "{r}");
        assert_eq!(r["url"], "https://www.udhr.test/yor.html", "{r}");
        assert!(r.get("html").is_none());
    }
    let chars: usize = kept
        .iter()
        .map(|r| r["text"].as_str().map_or(0, |t| t.chars().count()))
        .sum();
    assert!(chars > 3000, "{chars} characters kept");
    let m = manifest(&report);
    let pages = stage(&m, "web_pages");
    assert_eq!(pages["counts"]["records_in"], 5);
    assert_eq!(pages["counts"]["dropped"]["not_response"], 2);
    assert_eq!(
        stage(&m, "web_text")["counts"]["dropped"]["no_main_text"],
        1
    );
    let sites = std::fs::read_to_string(report.join("stats/sites.tsv")).expect("site report");
    let rows: Vec<&str> = sites.lines().collect();
    assert_eq!(rows[0], "lang\tsite\trecords\tchars\tshare");
    assert_eq!(rows.len(), 2, "{sites}");
    assert!(rows[1].starts_with("yor\tudhr.test\t"), "{sites}");
}
