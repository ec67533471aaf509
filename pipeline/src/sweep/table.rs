//! A sweep's result files: `results.jsonl` (one line per run) and `results.md` (mean ± sd
//! per arm, then each arm paired against the reference arm).

use super::collect::RunMetrics;
use super::grid::Grid;
use super::paired::{compare, summarize, Pair, Resampling};
use serde_json::json;
use std::collections::BTreeSet;
use std::fmt::Write;

/// One line per grid point: run name, arm settings, seed, status and scalar metrics.
pub fn results_jsonl(grid: &Grid, runs: &[RunMetrics]) -> String {
    let mut s = String::new();
    for (p, r) in grid.points.iter().zip(runs) {
        let arm: serde_json::Map<String, serde_json::Value> = grid.arms[p.arm]
            .settings
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        let line = json!({
            "run": p.name,
            "arm": arm,
            "arm_label": grid.arms[p.arm].label(),
            "seed": p.seed,
            "status": r.status,
            "metrics": r.metrics,
            "items": r.items.iter().map(|(k, v)| (k.clone(), v.len())).collect::<std::collections::BTreeMap<_, _>>(),
        });
        s.push_str(&line.to_string());
        s.push('\n');
    }
    s
}

/// Four significant digits, no exponent for ordinary magnitudes.
fn num(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let mag = x.abs().log10().floor() as i32;
    let dec = (3 - mag).clamp(0, 8) as usize;
    format!("{x:.dec$}")
}

/// Values of one metric in one arm, by seed (only runs that succeeded and have it).
fn values(grid: &Grid, runs: &[RunMetrics], arm: usize, metric: &str) -> Vec<(u64, f64)> {
    grid.points
        .iter()
        .zip(runs)
        .filter(|(p, r)| p.arm == arm && r.status == "succeeded")
        .filter_map(|(p, r)| r.metrics.get(metric).map(|v| (p.seed, *v)))
        .collect()
}

fn items<'a>(
    grid: &Grid,
    runs: &'a [RunMetrics],
    arm: usize,
    seed: u64,
    metric: &str,
) -> Option<&'a Vec<f64>> {
    grid.points
        .iter()
        .zip(runs)
        .find(|(p, _)| p.arm == arm && p.seed == seed)
        .and_then(|(_, r)| r.items.get(metric))
}

/// Renders `results.md`. `reference` is the arm every other arm is paired against;
/// `command` is printed so the table can be reproduced.
pub fn results_md(grid: &Grid, runs: &[RunMetrics], reference: usize, command: &str) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# Sweep results\n\n```sh\n{command}\n```\n");
    let done = runs.iter().filter(|r| r.status == "succeeded").count();
    let _ = writeln!(
        md,
        "{} arm(s) × {} seed(s) = {} run(s); {} succeeded. Reference arm: `{}`.\n",
        grid.arms.len(),
        grid.seeds.len(),
        grid.points.len(),
        done,
        grid.arms[reference].label()
    );
    for (p, r) in grid.points.iter().zip(runs) {
        if r.status != "succeeded" {
            let _ = writeln!(md, "- run `{}`: {}", p.name, r.status);
        }
    }
    let names: BTreeSet<&String> = runs.iter().flat_map(|r| r.metrics.keys()).collect();
    // A metric with one value in every run cannot differ between arms: listed once.
    let (varying, constant): (Vec<&String>, Vec<&String>) = names.into_iter().partition(|m| {
        let vals: Vec<f64> = runs
            .iter()
            .filter_map(|r| r.metrics.get(*m))
            .copied()
            .collect();
        vals.windows(2).any(|w| w[0] != w[1]) || vals.len() < done
    });

    let _ = writeln!(md, "\n## Per arm: mean ± sd (n)\n");
    let _ = write!(md, "| metric |");
    for a in &grid.arms {
        let _ = write!(md, " {} |", a.label());
    }
    let _ = write!(md, "\n|---|");
    for _ in &grid.arms {
        let _ = write!(md, "---|");
    }
    md.push('\n');
    for m in &varying {
        let _ = write!(md, "| {m} |");
        for arm in 0..grid.arms.len() {
            let v: Vec<f64> = values(grid, runs, arm, m)
                .into_iter()
                .map(|x| x.1)
                .collect();
            match summarize(&v) {
                Some(s) => {
                    let _ = write!(md, " {} ± {} ({}) |", num(s.mean), num(s.sd), s.n);
                }
                None => md.push_str(" – |"),
            }
        }
        md.push('\n');
    }
    if !constant.is_empty() {
        let list: Vec<String> = constant
            .iter()
            .map(|m| {
                format!(
                    "`{m}` = {}",
                    num(runs
                        .iter()
                        .find_map(|r| r.metrics.get(*m).copied())
                        .unwrap_or(0.0))
                )
            })
            .collect();
        let _ = writeln!(md, "\nSame value in every run: {}.", list.join(", "));
    }

    for arm in (0..grid.arms.len()).filter(|&a| a != reference) {
        let _ = writeln!(
            md,
            "\n## `{}` − `{}` (paired by seed)\n",
            grid.arms[arm].label(),
            grid.arms[reference].label()
        );
        let _ = writeln!(
            md,
            "| metric | reference | arm | difference | 95 % interval | + / − / = | n | resampled |\n|---|---|---|---|---|---|---|---|"
        );
        let mut few_seeds = false;
        let mut one_seed = false;
        for m in &varying {
            let a = values(grid, runs, reference, m);
            let b = values(grid, runs, arm, m);
            let pairs: Vec<Pair> = a
                .iter()
                .filter_map(|&(seed, av)| {
                    let bv = b.iter().find(|x| x.0 == seed)?.1;
                    let items = match (
                        items(grid, runs, reference, seed, m),
                        items(grid, runs, arm, seed, m),
                    ) {
                        (Some(x), Some(y)) if x.len() == y.len() => {
                            x.iter().copied().zip(y.iter().copied()).collect()
                        }
                        _ => Vec::new(),
                    };
                    Some(Pair {
                        seed,
                        a: av,
                        b: bv,
                        items,
                    })
                })
                .collect();
            let Some(c) = compare(m, &pairs) else {
                continue;
            };
            let mean = |v: &[(u64, f64)]| summarize(&v.iter().map(|x| x.1).collect::<Vec<_>>());
            let mark = if c.excludes_zero() { "**" } else { "" };
            few_seeds |= c.resampling == Resampling::Seeds && (2..5).contains(&c.n);
            let interval = if c.has_interval() {
                format!("[{}, {}]", num(c.lo), num(c.hi))
            } else {
                one_seed = true;
                "–".to_string()
            };
            let _ = writeln!(
                md,
                "| {m} | {} | {} | {mark}{}{mark} | {interval} | {} / {} / {} | {} | {} |",
                mean(&a).map_or("–".into(), |s| num(s.mean)),
                mean(&b).map_or("–".into(), |s| num(s.mean)),
                num(c.diff),
                c.signs.0,
                c.signs.1,
                c.signs.2,
                c.n,
                match c.resampling {
                    Resampling::Seeds => "seeds",
                    Resampling::SeedsAndItems => "seeds × items",
                }
            );
        }
        let _ = writeln!(
            md,
            "\nBold: the 95 % paired-bootstrap interval excludes 0 ({} resamples). Anything \
             else is no detectable difference at this n.",
            super::paired::RESAMPLES
        );
        if one_seed {
            let _ = writeln!(
                md,
                "–: one seed and no per-item values, so no interval (the difference is one \
                 observation)."
            );
        }
        if few_seeds {
            let _ = writeln!(
                md,
                "With fewer than 5 seeds, a seeds-only bootstrap has few distinct resamples: \
                 read its interval as rough, and the sign count next to it."
            );
        }
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::grid::{Axis, Grid};

    #[test]
    fn tables_pair_by_seed_and_mark_only_intervals_excluding_zero() {
        let grid = Grid::new(
            vec![Axis::parse("stages.t.arm=base,lem,noise").unwrap()],
            vec![1, 2, 3, 4, 5],
        )
        .unwrap();
        let runs: Vec<RunMetrics> = grid
            .points
            .iter()
            .map(|p| {
                let base = 10.0 + p.seed as f64; // seed noise shared by all arms
                let v = match p.arm {
                    0 => base,
                    1 => base + 1.0,
                    _ => base + if p.seed % 2 == 0 { 0.7 } else { -0.7 },
                };
                RunMetrics {
                    status: "succeeded".into(),
                    metrics: [("eval.acc".to_string(), v), ("lid.kept".to_string(), 5.0)]
                        .into_iter()
                        .collect(),
                    items: Default::default(),
                }
            })
            .collect();
        let md = results_md(&grid, &runs, 0, "mavuno sweep x.toml");
        assert!(
            md.contains("| eval.acc | 13.00 ± 1.581 (5) | 14.00 ± 1.581 (5) |"),
            "{md}"
        );
        assert!(
            md.contains(
                "| eval.acc | 13.00 | 14.00 | **1.000** | [1.000, 1.000] | 5 / 0 / 0 | 5 | seeds |"
            ),
            "{md}"
        );
        let noise = md.split("`t.arm=noise` − `t.arm=base`").nth(1).unwrap();
        assert!(
            noise.contains("| eval.acc | 13.00 | 12.86 | -0.1400 |"),
            "{noise}"
        );
        assert!(!noise.contains("**-"), "{noise}");
        assert!(
            md.contains("Same value in every run: `lid.kept` = 5.000."),
            "{md}"
        );
        let jl = results_jsonl(&grid, &runs);
        assert_eq!(jl.lines().count(), 15);
        let first: serde_json::Value = serde_json::from_str(jl.lines().next().unwrap()).unwrap();
        assert_eq!(first["arm"]["stages.t.arm"], "base");
        assert_eq!(first["metrics"]["eval.acc"], 11.0);
    }

    #[test]
    fn one_seed_pairs_on_items_and_gives_no_interval_without_them() {
        // Two deterministic arms (an attack study): one seed, 4 examples each.
        let grid = Grid::new(
            vec![Axis::parse("stages.attack.search=first_flip,min_prob").unwrap()],
            vec![42],
        )
        .unwrap();
        let q = [[5.0, 9.0, 1.0, 7.0], [20.0, 20.0, 1.0, 24.0]];
        let runs: Vec<RunMetrics> = grid
            .points
            .iter()
            .map(|p| {
                let items = q[p.arm].to_vec();
                let mean = items.iter().sum::<f64>() / 4.0;
                RunMetrics {
                    status: "succeeded".into(),
                    metrics: [
                        ("attack.queries_per_example".to_string(), mean),
                        ("attack.mean_queries".to_string(), mean + 1.0),
                    ]
                    .into_iter()
                    .collect(),
                    items: [("attack.queries_per_example".to_string(), items)]
                        .into_iter()
                        .collect(),
                }
            })
            .collect();
        let md = results_md(&grid, &runs, 0, "mavuno sweep a.toml");
        // Items: every per-example difference is ≥ 0 and three are > 0, so the item
        // bootstrap's interval is above 0.
        let row = md
            .lines()
            .find(|l| l.starts_with("| attack.queries_per_example | 5.500 | 16.25 |"))
            .unwrap_or_else(|| panic!("{md}"));
        assert!(
            row.contains("**10.75**") && row.ends_with("| 1 | seeds × items |"),
            "{row}"
        );
        // No items: the same-size difference is one observation, not an interval.
        assert!(
            md.contains(
                "| attack.mean_queries | 6.500 | 17.25 | 10.75 | – | 1 / 0 / 0 | 1 | seeds |"
            ),
            "{md}"
        );
        assert!(md.contains("one seed and no per-item values"), "{md}");
        assert!(!md.contains("fewer than 5 seeds"), "{md}");
    }
}
