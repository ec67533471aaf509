//! The run report's curation sections, read from the run directory (or, for a sharded
//! run, the shards' directories, merged): the funnel (records into each stage, kept and
//! dropped by reason), each measure's distribution per language with its threshold and
//! what other thresholds would keep (`<run>/metrics/<stage>.json`: the `filter` stage's
//! measures, `langid`'s confidence, `dedup_near`'s similarity), samples of dropped text
//! per reason (`<run>/dropped/<stage>.jsonl.zst`) and near-duplicate clusters
//! (`<run>/clusters/<stage>.json`). Inline SVG, no scripts; the same run directories give
//! the same bytes.
//!
//! Large runs stay readable and the page bounded (1,000 stages × 20 languages is a few
//! MB): stages are ordered by what they dropped and only the first [`DETAILED_STAGES`] get
//! figures (the rest one summary row each), figures stop after [`FIGURE_BUDGET`] (a
//! compact table of every measure remains), long tables stop at [`TABLE_ROWS`] rows with
//! "N more", histograms draw at most [`MAX_BARS`] bars, and details fold (`<details>`).

use super::histogram::{Histogram, Scale};
use super::svg::{escape, fmt_num};
use crate::quality::measures::{FilterMetrics, MetricDef};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::BufRead;
use std::path::PathBuf;

/// Stages whose measures get figures (the most dropping first).
pub const DETAILED_STAGES: usize = 10;
/// Histogram figures on one page at most.
pub const FIGURE_BUDGET: usize = 300;
/// Rows of a long table shown before "N more".
pub const TABLE_ROWS: usize = 100;
/// Bars of one histogram figure at most (neighbouring bins are summed).
pub const MAX_BARS: usize = 60;
/// Stages drawn in the funnel at most (the ones that drop the most, in run order).
pub const FUNNEL_ROWS: usize = 60;
/// Stages whose dropped samples are shown (the most dropping first).
pub const SAMPLED_STAGES: usize = 20;

/// "N more" under a table cut at [`TABLE_ROWS`].
pub fn more(n: usize, what: &str) -> String {
    if n == 0 {
        String::new()
    } else {
        format!("<p class=\"more\">… {n} more {what} not shown.</p>\n")
    }
}

/// Colours for drop reasons, in order of first appearance.
const PALETTE: [&str; 16] = [
    "#d1495b", "#edae49", "#66a182", "#8d96a3", "#00798c", "#a05195", "#f95d6a", "#2f4b7c",
    "#ff7c43", "#665191", "#9acd32", "#8b4513", "#ff69b4", "#20b2aa", "#b8860b", "#708090",
];

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or(0.0)
}

/// The funnel: one row per stage that ran or was cached, a bar of its input split into
/// kept (blue), dropped by reason (colours) and rejected (black), scaled to the largest
/// input.
pub fn funnel(stages: &[Value]) -> String {
    const W: f64 = 900.0;
    const LABEL: f64 = 160.0;
    const ROW: f64 = 22.0;
    const TOP: f64 = 24.0;
    let mut rows: Vec<&Value> = stages
        .iter()
        .filter(|s| num(&s["counts"]["records_in"]) > 0.0)
        .collect();
    let hidden = rows.len().saturating_sub(FUNNEL_ROWS);
    if hidden > 0 {
        // Keep the stages that remove the most, in run order.
        let lost = |s: &Value| num(&s["counts"]["records_in"]) - num(&s["counts"]["kept"]);
        let mut by: Vec<(usize, f64)> =
            rows.iter().enumerate().map(|(i, s)| (i, lost(s))).collect();
        by.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut keep: Vec<usize> = by.iter().take(FUNNEL_ROWS).map(|x| x.0).collect();
        keep.sort_unstable();
        rows = keep.into_iter().map(|i| rows[i]).collect();
    }
    let max = rows
        .iter()
        .map(|s| num(&s["counts"]["records_in"]))
        .fold(0.0, f64::max);
    let mut reasons: Vec<String> = Vec::new();
    for s in &rows {
        for k in s["counts"]["dropped"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, _)| k)
        {
            if !reasons.contains(k) {
                reasons.push(k.clone());
            }
        }
    }
    let colour = |r: &str| {
        let i = reasons.iter().position(|x| x == r).unwrap_or(0);
        PALETTE[i % PALETTE.len()]
    };
    let legend_rows = (reasons.len() + 2).div_ceil(4);
    let h = TOP + ROW * rows.len().max(1) as f64 + 10.0 + 18.0 * legend_rows as f64;
    let mut s = format!(
        "<svg class=\"fig\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{h}\" viewBox=\"0 0 {W} {h}\" role=\"img\" aria-label=\"funnel\">\
<text x=\"0\" y=\"15\" font-weight=\"bold\" font-size=\"13\">Records into each stage: kept, dropped by reason, rejected</text>"
    );
    if rows.is_empty() {
        let _ = write!(
            s,
            "<text x=\"{LABEL}\" y=\"{}\" font-size=\"12\" fill=\"#777\">no data</text>",
            TOP + 13.0
        );
    }
    // Room on the right for "N in, M dropped" beside a full-width bar.
    let span = W - LABEL - 170.0;
    let scale = |v: f64| if max > 0.0 { v / max * span } else { 0.0 };
    for (i, st) in rows.iter().enumerate() {
        let c = &st["counts"];
        let y = TOP + ROW * i as f64;
        let mut x = LABEL;
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"end\">{}</text>",
            LABEL - 6.0,
            y + 13.0,
            escape(st["id"].as_str().unwrap_or(""))
        );
        let mut seg = |w: f64, fill: &str, title: String, s: &mut String| {
            if w > 0.0 {
                let _ = write!(
                    s,
                    "<rect x=\"{x:.1}\" y=\"{y}\" width=\"{:.1}\" height=\"{}\" fill=\"{fill}\"><title>{}</title></rect>",
                    w.max(1.0),
                    ROW - 6.0,
                    escape(&title)
                );
                x += w.max(1.0);
            }
        };
        seg(
            scale(num(&c["kept"])),
            "#4a7ebb",
            format!("kept {}", fmt_num(num(&c["kept"]))),
            &mut s,
        );
        for (k, v) in c["dropped"].as_object().into_iter().flatten() {
            seg(
                scale(num(v)),
                colour(k),
                format!("{k}: {}", fmt_num(num(v))),
                &mut s,
            );
        }
        seg(
            scale(num(&c["rejected"])),
            "#222",
            format!("rejected {}", fmt_num(num(&c["rejected"]))),
            &mut s,
        );
        let dropped: f64 = c["dropped"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(_, v)| num(v))
            .sum();
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{}\" font-size=\"11\">{} in, {} dropped</text>",
            x + 4.0,
            y + 13.0,
            fmt_num(num(&c["records_in"])),
            fmt_num(dropped)
        );
    }
    let ly = TOP + ROW * rows.len().max(1) as f64 + 10.0;
    let items: Vec<(String, &str)> = [
        ("kept".to_string(), "#4a7ebb"),
        ("rejected".to_string(), "#222"),
    ]
    .into_iter()
    .chain(reasons.iter().map(|r| (r.clone(), colour(r))))
    .collect();
    for (i, (label, fill)) in items.iter().enumerate() {
        let (lx, ly) = (LABEL + (i % 4) as f64 * 180.0, ly + 18.0 * (i / 4) as f64);
        let _ = write!(
            s,
            "<rect x=\"{lx}\" y=\"{ly}\" width=\"10\" height=\"10\" fill=\"{fill}\"/><text x=\"{}\" y=\"{}\" font-size=\"11\">{}</text>",
            lx + 14.0,
            ly + 9.0,
            escape(label)
        );
    }
    s.push_str("</svg>\n");
    if hidden > 0 {
        let _ = writeln!(
            s,
            "<p class=\"more\">{hidden} stages that removed fewer records are not drawn (see the stage table).</p>"
        );
    }
    s
}

/// Thresholds to compare with the current one: ×0.5 … ×2, snapped to the measure's unit.
fn candidates(t: f64, scale: Scale) -> Vec<f64> {
    let mut v: Vec<f64> = [0.5, 0.75, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0]
        .iter()
        .map(|f| {
            let x = t * f;
            match scale {
                Scale::Count => x.round(),
                Scale::Fraction => ((x * 100.0).round() / 100.0).min(1.0),
                Scale::Length => (x * 10.0).round() / 10.0,
            }
        })
        .collect();
    v.sort_by(f64::total_cmp);
    v.dedup();
    v
}

/// One measure's histogram with its thresholds marked (red lines). Bars are bins from the
/// smallest to the largest value seen (and the thresholds), summed in groups so that at
/// most [`MAX_BARS`] are drawn; a figure is never empty when `h.n > 0`.
fn hist_svg(title: &str, h: &Histogram, def: &MetricDef) -> String {
    const W: f64 = 560.0;
    const H: f64 = 160.0;
    const PAD: f64 = 36.0;
    let sc = h.scale;
    let mut lo = sc.bin(h.min.max(0.0));
    let mut hi = sc.bin(h.max.max(0.0));
    for t in [def.min, def.max].into_iter().flatten() {
        lo = lo.min(sc.bin(t.max(0.0)));
        hi = hi.max(sc.bin(t.max(0.0)));
    }
    let hi = hi.min(sc.bins() - 1).max(lo);
    let at = |i: usize| h.counts.get(i).copied().unwrap_or(0);
    let group = (hi - lo + 1).div_ceil(MAX_BARS);
    let bars: Vec<u64> = (lo..=hi)
        .step_by(group)
        .map(|b| (b..(b + group).min(hi + 1)).map(at).sum())
        .collect();
    let peak = bars.iter().copied().max().unwrap_or(0).max(1) as f64;
    let bw = (W - 2.0 * PAD) / bars.len() as f64;
    let mut s = format!(
        "<svg class=\"fig\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{t}\">\
<text x=\"{PAD}\" y=\"14\" font-size=\"12\" font-weight=\"bold\">{t}</text>\
<line x1=\"{PAD}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"#888\"/>",
        t = escape(title),
        b = H - PAD,
        r = W - PAD
    );
    let plot_h = H - PAD - 24.0;
    for (k, &c) in bars.iter().enumerate() {
        if c == 0 {
            continue;
        }
        let bh = (c as f64 / peak * plot_h).max(1.0);
        let first = lo + k * group;
        let (a, _) = sc.edges(first);
        let (_, z) = sc.edges((first + group - 1).min(hi));
        let _ = write!(
            s,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.2}\" height=\"{bh:.1}\" fill=\"#4a7ebb\"><title>[{}, {}): {c}</title></rect>",
            PAD + k as f64 * bw,
            H - PAD - bh,
            bw.max(0.5),
            fmt_num(a),
            fmt_num(z)
        );
    }
    let x_of = |v: f64| {
        let b = sc.bin(v.max(0.0));
        let (a, z) = sc.edges(b);
        let frac = if z.is_finite() && z > a {
            ((v - a) / (z - a)).clamp(0.0, 1.0)
        } else {
            0.0
        };
        PAD + ((b as f64 - lo as f64) + frac) / group as f64 * bw
    };
    let (a, _) = sc.edges(lo);
    let (_, z) = sc.edges(hi);
    let _ = write!(
        s,
        "<text x=\"{PAD}\" y=\"{}\" font-size=\"10\">{}</text><text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"end\">{}</text>",
        H - PAD + 12.0,
        fmt_num(a),
        W - PAD,
        H - PAD + 12.0,
        if z.is_finite() { fmt_num(z) } else { "∞".into() }
    );
    for (t, label) in [(def.min, "min"), (def.max, "max")] {
        if let Some(t) = t {
            // A threshold beyond the values seen is drawn at the edge, marked off scale.
            let x = x_of(t).clamp(PAD, W - PAD);
            let off = if x_of(t) > W - PAD || x_of(t) < PAD {
                " (off scale)"
            } else {
                ""
            };
            let (tx, anchor) = if x > W / 2.0 {
                (x - 3.0, "end")
            } else {
                (x + 3.0, "start")
            };
            let _ = write!(
                s,
                "<line class=\"threshold\" x1=\"{x:.1}\" y1=\"20\" x2=\"{x:.1}\" y2=\"{}\" stroke=\"#d00\" stroke-width=\"2\"/>\
<text x=\"{tx:.1}\" y=\"{}\" font-size=\"10\" fill=\"#d00\" text-anchor=\"{anchor}\">{label} {t}{off}</text>",
                H - PAD,
                if label == "min" { 30.0 } else { 42.0 },
            );
        }
    }
    let _ = write!(
        s,
        "<text x=\"{}\" y=\"{}\" font-size=\"10\" fill=\"#555\" text-anchor=\"middle\">{} records measured</text></svg>",
        W / 2.0,
        H - 8.0,
        h.n
    );
    s
}

/// The table "at T: keep P % (+N records)" for other values of each threshold.
fn keep_table(h: &Histogram, def: &MetricDef) -> String {
    let now = def.kept(h, def.min, def.max) as f64;
    let n = h.n.max(1) as f64;
    let mut s = String::from(
        "<table><tr><th>threshold</th><th>keep</th><th>records kept</th><th>vs now</th></tr>",
    );
    let mut row = |label: String, kept: f64, current: bool| {
        let delta = kept - now;
        let _ = write!(
            s,
            "<tr{}><td>{}</td><td class=\"n\">{:.1} %</td><td class=\"n\">{}</td><td class=\"n\">{}{}</td></tr>",
            if current { " class=\"now\"" } else { "" },
            escape(&label),
            100.0 * kept / n,
            fmt_num(kept),
            if delta > 0.0 { "+" } else { "" },
            fmt_num(delta)
        );
    };
    if let Some(t) = def.min {
        // With "min 0" (the rule off) beside the others: a measure whose values are all 0
        // or 1 (one-line records) shows no change for any other threshold.
        let mut cs = candidates(t, h.scale);
        if t > 0.0 && cs.first() != Some(&0.0) {
            cs.insert(0, 0.0);
        }
        for c in cs {
            row(
                format!("min {c}"),
                def.kept(h, Some(c), def.max) as f64,
                c == t,
            );
        }
    }
    if let Some(t) = def.max {
        for c in candidates(t, h.scale) {
            row(
                format!("max {c}"),
                def.kept(h, def.min, Some(c)) as f64,
                c == t,
            );
        }
    }
    s.push_str("</table>\n");
    s
}

/// The files `<dir>/<sub>/<stage><ext>` of every directory, as `(stage, path)`: directory
/// by directory (shards in order), names sorted within each.
fn stage_files(dirs: &[PathBuf], sub: &str, ext: &str) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    for dir in dirs {
        let mut files: Vec<(String, PathBuf)> = std::fs::read_dir(dir.join(sub))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let p = e.path();
                let id = p.file_name()?.to_str()?.strip_suffix(ext)?.to_string();
                Some((id, p))
            })
            .collect();
        files.sort();
        out.extend(files);
    }
    out
}

/// A JSON file, `None` when it cannot be read or parsed (the report shows what it can).
fn read_json<T: serde::de::DeserializeOwned>(p: &std::path::Path) -> Option<T> {
    serde_json::from_slice(&std::fs::read(p).ok()?).ok()
}

/// Reads `<dir>/metrics/*.json` of every directory and merges each stage's across them
/// (shards), sorted by stage id.
pub fn read_metrics(dirs: &[PathBuf]) -> Vec<(String, FilterMetrics)> {
    let mut by: BTreeMap<String, FilterMetrics> = BTreeMap::new();
    for (id, p) in stage_files(dirs, "metrics", ".json") {
        let Some(m) = read_json::<FilterMetrics>(&p) else {
            continue;
        };
        match by.get_mut(&id) {
            Some(acc) => acc.merge(&m),
            None => {
                by.insert(id, m);
            }
        }
    }
    by.into_iter().collect()
}

/// Records a stage's rules fired on, over all languages (orders stages by their effect).
fn fired_total(m: &FilterMetrics) -> u64 {
    m.langs
        .values()
        .flat_map(|p| p.values())
        .map(|s| s.fired)
        .sum()
}

/// Records measured in one language (the most any of its measures saw).
fn measured(per: &BTreeMap<String, crate::quality::measures::MetricStats>) -> u64 {
    per.values().map(|s| s.hist.n).max().unwrap_or(0)
}

/// Stages by records their rules fired on (most first), then id.
fn by_effect(all: &[(String, FilterMetrics)]) -> Vec<&(String, FilterMetrics)> {
    let mut v: Vec<&(String, FilterMetrics)> = all.iter().collect();
    v.sort_by(|a, b| {
        fired_total(&b.1)
            .cmp(&fired_total(&a.1))
            .then(a.0.cmp(&b.0))
    });
    v
}

/// A stage's languages by records measured (most first), then code.
fn langs_by_size(
    m: &FilterMetrics,
) -> Vec<(
    &String,
    &BTreeMap<String, crate::quality::measures::MetricStats>,
)> {
    let mut v: Vec<_> = m.langs.iter().collect();
    v.sort_by(|a, b| measured(b.1).cmp(&measured(a.1)).then(a.0.cmp(b.0)));
    v
}

/// Measure figures, keep tables and never-firing flags: see the module docs for the caps.
pub fn metrics_section(dirs: &[PathBuf]) -> String {
    let all = read_metrics(dirs);
    if all.is_empty() {
        return String::new();
    }
    let mut s = String::from("<h2 id=\"measures\">Measures and thresholds</h2>\n<p>Each measure's distribution per language: for <code>filter</code> stages over the records that reached its rule (rules run in order; the first that fires drops the record), <code>langid</code>'s confidence (an <code>und</code> record counts under the language it nearly got), <code>dedup_near</code>'s similarity (a near duplicate's with its cluster's first record; a kept record's highest with a candidate). Red lines: thresholds. The tables say how many of those records other thresholds would keep (bin resolution: 0.01 for shares, 1 for counts). Stages that dropped the most come first.</p>\n");
    let order = by_effect(&all);
    let mut figures = 0usize;
    for (k, (stage, m)) in order.iter().enumerate() {
        if k == DETAILED_STAGES {
            s.push_str(&metrics_summary(&order[k..]));
            break;
        }
        let mut never = Vec::new();
        for (lang, per) in &m.langs {
            for def in &m.metrics {
                if let Some(st) = per.get(&def.name) {
                    if st.fired == 0 && st.hist.n > 0 {
                        never.push(format!("{} ({lang}, {} records)", def.name, st.hist.n));
                    }
                }
            }
        }
        let _ = writeln!(
            s,
            "<details{}><summary><b>Stage <code>{}</code></b>: {} languages, rules fired on {} records</summary>",
            if k < 3 { " open" } else { "" },
            escape(stage),
            m.langs.len(),
            fmt_num(fired_total(m) as f64)
        );
        if !never.is_empty() {
            let shown = never.len().min(20);
            let _ = writeln!(
                s,
                "<p class=\"warn\">Never fired on this corpus: {}{}</p>",
                escape(&never[..shown].join(", ")),
                if never.len() > shown {
                    format!(" … and {} more", never.len() - shown)
                } else {
                    String::new()
                }
            );
        }
        for (j, (lang, per)) in langs_by_size(m).into_iter().enumerate() {
            let _ = writeln!(
                s,
                "<details{}><summary>{} · language <b>{}</b> · {} records measured</summary>",
                if k < 3 && j < 2 { " open" } else { "" },
                escape(stage),
                escape(lang),
                fmt_num(measured(per) as f64)
            );
            s.push_str(&measure_table(m, per));
            for def in &m.metrics {
                let Some(st) = per.get(&def.name) else {
                    continue;
                };
                if figures >= FIGURE_BUDGET {
                    break;
                }
                figures += 1;
                let pct = 100.0 * st.fired as f64 / st.hist.n.max(1) as f64;
                let _ = write!(
                    s,
                    "<div class=\"metric\"><h4>{} <small>({}) · dropped {} of {} ({:.1} %){}</small></h4>\n{}\n{}</div>\n",
                    escape(&def.name),
                    escape(&def.field),
                    st.fired,
                    st.hist.n,
                    pct,
                    if st.fired == 0 { " · <span class=\"warn\">never fires</span>" } else { "" },
                    hist_svg(&format!("{} [{lang}]", def.name), &st.hist, def),
                    keep_table(&st.hist, def)
                );
            }
            s.push_str("</details>\n");
        }
        s.push_str("</details>\n");
    }
    if figures >= FIGURE_BUDGET {
        let _ = writeln!(
            s,
            "<p class=\"more\">Figures stop after {FIGURE_BUDGET}; the tables above list every measure.</p>"
        );
    }
    s
}

/// One row per measure of a language: threshold, records measured, dropped, flag.
fn measure_table(
    m: &FilterMetrics,
    per: &BTreeMap<String, crate::quality::measures::MetricStats>,
) -> String {
    let mut s = String::from("<table class=\"measures\"><tr><th>measure</th><th>threshold</th><th>measured</th><th>dropped</th><th>%</th></tr>");
    for def in &m.metrics {
        let Some(st) = per.get(&def.name) else {
            continue;
        };
        let t = [
            def.min.map(|x| format!("min {x}")),
            def.max.map(|x| format!("max {x}")),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ");
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{:.1}{}</td></tr>",
            escape(&def.name),
            escape(&t),
            st.hist.n,
            st.fired,
            100.0 * st.fired as f64 / st.hist.n.max(1) as f64,
            if st.fired == 0 { " <span class=\"warn\">never fires</span>" } else { "" }
        );
    }
    s.push_str("</table>\n");
    s
}

/// The stages past [`DETAILED_STAGES`]: one row each, at most [`TABLE_ROWS`].
fn metrics_summary(rest: &[&(String, FilterMetrics)]) -> String {
    let mut s = format!("<details><summary>{} more stages with measures (one row each)</summary><table><tr><th>stage</th><th>languages</th><th>rules fired on</th><th>never-firing measures</th></tr>", rest.len());
    for (stage, m) in rest.iter().take(TABLE_ROWS) {
        let never = m
            .langs
            .values()
            .flat_map(|p| p.values())
            .filter(|st| st.fired == 0 && st.hist.n > 0)
            .count();
        let _ = write!(
            s,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{never}</td></tr>",
            escape(stage),
            m.langs.len(),
            fired_total(m)
        );
    }
    s.push_str("</table>");
    s.push_str(&more(rest.len().saturating_sub(TABLE_ROWS), "stages"));
    s.push_str("</details>\n");
    s
}

/// The dropped-sample files of every directory, by stage id.
fn dropped_files(dirs: &[PathBuf]) -> BTreeMap<String, Vec<PathBuf>> {
    let mut by: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for (id, p) in stage_files(dirs, "dropped", ".jsonl.zst") {
        by.entry(id).or_default().push(p);
    }
    by
}

/// Samples of dropped records per stage and reason (`<dir>/dropped/` of every directory,
/// merged with [`mavuno_pipeline::dropped::merge_samples`], so shards show what a single
/// run shows), escaped; `shown` per reason, the smallest sample priorities first.
/// `seed_of` gives a stage's seed; `drops` orders stages (most dropped first).
pub fn dropped_section(
    dirs: &[PathBuf],
    shown: usize,
    seed_of: &dyn Fn(&str) -> u64,
    drops: &dyn Fn(&str) -> u64,
) -> String {
    let files = dropped_files(dirs);
    if files.is_empty() {
        return String::new();
    }
    let mut s = String::from("<h2 id=\"dropped\">What was dropped</h2>\n<p>Samples from <code>dropped/</code> (see <code>run.keep_dropped</code>; <code>mavuno inspect RUN --dropped STAGE --reason R</code> shows more). Value: the measure that fired (similarity for near duplicates).</p>\n");
    let mut order: Vec<(&String, &Vec<PathBuf>)> = files.iter().collect();
    order.sort_by(|a, b| drops(b.0).cmp(&drops(a.0)).then(a.0.cmp(b.0)));
    for (stage, paths) in order.iter().take(SAMPLED_STAGES) {
        let mut lines = Vec::new();
        for p in paths.iter() {
            let Ok(r) = mavuno_pipeline::io::open_read(p) else {
                continue;
            };
            lines.extend(
                r.lines()
                    .map_while(Result::ok)
                    .filter_map(|l| serde_json::from_str::<Value>(&l).ok()),
            );
        }
        let by = mavuno_pipeline::dropped::merge_samples(lines, shown, seed_of(stage), stage);
        let _ = writeln!(s, "<h3>Stage <code>{}</code></h3>", escape(stage));
        for (reason, recs) in by {
            let _ = write!(s, "<details open><summary><b>{}</b> ({} shown)</summary><table><tr><th>id</th><th>lang</th><th>value</th><th>threshold</th><th>text</th></tr>", escape(&reason), recs.len());
            for v in recs {
                let f = |k: &str| v[k].as_f64().map(|x| format!("{x:.3}")).unwrap_or_default();
                let text: String = v["text"].as_str().unwrap_or("").chars().take(300).collect();
                let _ = write!(
                    s,
                    "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"text\">{}</td></tr>",
                    escape(v["id"].as_str().unwrap_or("")),
                    escape(v["lang"].as_str().unwrap_or("")),
                    f("value"),
                    f("threshold"),
                    escape(&text)
                );
            }
            s.push_str("</table></details>\n");
        }
    }
    s.push_str(&more(
        order.len().saturating_sub(SAMPLED_STAGES),
        "stages with dropped samples",
    ));
    s
}

/// Near-duplicate cluster examples (`<dir>/clusters/<stage>.json`): each sampled
/// cluster's kept record and its near duplicates with their similarity, escaped.
pub fn clusters_section(dirs: &[PathBuf]) -> String {
    let mut by: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (id, p) in stage_files(dirs, "clusters", ".json") {
        if let Some(v) = read_json::<Value>(&p) {
            by.entry(id)
                .or_default()
                .extend(v["clusters"].as_array().cloned().unwrap_or_default());
        }
    }
    if by.is_empty() {
        return String::new();
    }
    let mut s = String::from("<h2 id=\"clusters\">Near-duplicate clusters</h2>\n<p>A seeded sample of clusters: the record kept (first) and the near duplicates of it, with their similarity.</p>\n");
    for (stage, clusters) in by.iter().take(SAMPLED_STAGES) {
        let _ = writeln!(
            s,
            "<details open><summary>Stage <code>{}</code>: {} clusters sampled</summary>",
            escape(stage),
            clusters.len()
        );
        for c in clusters
            .iter()
            .take(crate::dedup::dedup_near::examples::CLUSTERS)
        {
            let h = &c["head"];
            let _ = write!(
                s,
                "<table class=\"cluster\"><tr><th>kept</th><th>lang</th><th>similarity</th><th>text ({} near duplicates)</th></tr><tr class=\"now\"><td>{}</td><td>{}</td><td></td><td class=\"text\">{}</td></tr>",
                fmt_num(num(&c["near_duplicates"])),
                escape(h["id"].as_str().unwrap_or("")),
                escape(h["lang"].as_str().unwrap_or("")),
                escape(h["text"].as_str().unwrap_or(""))
            );
            for d in c["shown"].as_array().into_iter().flatten() {
                let _ = write!(
                    s,
                    "<tr><td>{}</td><td>{}</td><td class=\"n\">{:.3}</td><td class=\"text\">{}</td></tr>",
                    escape(d["id"].as_str().unwrap_or("")),
                    escape(d["lang"].as_str().unwrap_or("")),
                    num(&d["similarity"]),
                    escape(d["text"].as_str().unwrap_or(""))
                );
            }
            s.push_str("</table>\n");
        }
        s.push_str("</details>\n");
    }
    s
}

/// Per stage with measures and language: records measured, and the measures that dropped
/// the most (answers "which rule removed the most Hausa text"; the figures below show
/// how). Rows by records dropped, at most [`TABLE_ROWS`].
pub fn languages_section(dirs: &[PathBuf]) -> String {
    let all = read_metrics(dirs);
    let mut rows: Vec<(u64, String)> = Vec::new();
    for (stage, m) in &all {
        for (lang, per) in &m.langs {
            let reached = measured(per);
            let mut top: Vec<(&String, u64)> = per
                .iter()
                .filter(|(_, s)| s.fired > 0)
                .map(|(k, s)| (k, s.fired))
                .collect();
            top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
            let fired: u64 = top.iter().map(|t| t.1).sum();
            let top: Vec<String> = top
                .iter()
                .take(3)
                .map(|(k, n)| {
                    format!(
                        "{k} {n} ({:.1} %)",
                        100.0 * *n as f64 / reached.max(1) as f64
                    )
                })
                .collect();
            rows.push((
                fired,
                format!(
                    "<tr><td>{}</td><td>{}</td><td class=\"n\">{reached}</td><td>{}</td></tr>",
                    escape(stage),
                    escape(lang),
                    escape(&top.join(", "))
                ),
            ));
        }
    }
    if rows.is_empty() {
        return String::new();
    }
    // Most dropped first; the sort is stable, so ties keep stage and language order.
    rows.sort_by_key(|r| std::cmp::Reverse(r.0));
    let n = rows.len();
    let body: String = rows.into_iter().take(TABLE_ROWS).map(|r| r.1).collect();
    format!(
        "<h2>Measures by language</h2>\n<table><tr><th>stage</th><th>lang</th><th>records measured</th><th>measures that dropped the most (share of records measured)</th></tr>{body}</table>\n{}",
        more(n.saturating_sub(TABLE_ROWS), "rows")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quality::measures::MetricDef;
    use serde_json::json;

    #[test]
    fn funnel_has_a_segment_per_reason_and_escapes() {
        let stages = vec![
            json!({"id": "f<1>", "counts": {"records_in": 10, "kept": 6, "dropped": {"too_few_words": 3, "symbol_ratio": 1}, "rejected": 0}}),
        ];
        let s = funnel(&stages);
        assert!(s.contains("f&lt;1&gt;"));
        assert_eq!(
            s.matches("<rect").count(),
            3 + 4,
            "3 segments + 4 legend boxes"
        );
        assert!(funnel(&[]).contains("no data"));
    }

    #[test]
    fn keep_table_and_histogram_mark_the_threshold() {
        let mut h = Histogram::new(Scale::Fraction);
        for x in [0.1, 0.2, 0.3, 0.45, 0.55, 0.62] {
            h.add(x);
        }
        let def = MetricDef {
            name: "symbol_ratio".into(),
            field: "max_symbol_ratio".into(),
            scale: Scale::Fraction,
            min: None,
            max: Some(0.5),
            drops_at_max: false,
        };
        let t = keep_table(&h, &def);
        assert!(
            t.contains("<td>max 0.5</td><td class=\"n\">66.7 %</td>"),
            "{t}"
        );
        assert!(t.contains("<td>max 0.75</td><td class=\"n\">100.0 %</td><td class=\"n\">6</td><td class=\"n\">+2</td>"), "{t}");
        let min_def = MetricDef {
            name: "alpha".into(),
            min: Some(0.4),
            max: None,
            ..def.clone()
        };
        let t2 = keep_table(&h, &min_def);
        assert!(
            t2.contains("<td>min 0</td><td class=\"n\">100.0 %</td><td class=\"n\">6</td><td class=\"n\">+3</td>"),
            "{t2}"
        );
        let svg = hist_svg("x", &h, &def);
        assert!(svg.contains("class=\"threshold\""));
        assert_eq!(svg.matches("fill=\"#4a7ebb\"").count(), 6);
    }
}
