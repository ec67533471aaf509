//! The grid of a sweep: `--vary KEY=V1,V2` axes × seeds, expanded into runs.
//!
//! An *arm* is one combination of varied values; a *point* is an arm run with one seed.
//! Points are ordered arm-major (the first `--vary` axis varies slowest), then by seed, so
//! the run order and every file the sweep writes depend only on the command line.

use std::fmt;

/// One `--vary KEY=V1,V2,…` axis: a config key and the values it takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Axis {
    /// Dotted config key, as `--set` takes it (`stages.train.masking.strategy`).
    pub key: String,
    /// Values as written (TOML literals or plain strings, as `--set` reads them).
    pub values: Vec<String>,
}

/// Why a `--vary` or `--seeds` argument was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GridError(pub String);

impl fmt::Display for GridError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for GridError {}

impl Axis {
    /// Parses `KEY=V1,V2,…`. Commas inside brackets, braces or quotes do not split, so a
    /// value may be a TOML array or inline table (`k=[1,2],[3]` has two values).
    pub fn parse(spec: &str) -> Result<Axis, GridError> {
        let (key, raw) = spec
            .split_once('=')
            .ok_or_else(|| GridError(format!("--vary {spec}: expected KEY=V1,V2,…")))?;
        let key = key.trim();
        if key.is_empty() || key.split('.').any(str::is_empty) {
            return Err(GridError(format!("--vary {spec}: bad key \"{key}\"")));
        }
        if key == "run.seed" {
            return Err(GridError(
                "--vary run.seed: seeds are given with --seeds, which pairs arms by seed".into(),
            ));
        }
        let values = split_top_level(raw);
        if values.iter().any(|v| v.is_empty()) {
            return Err(GridError(format!("--vary {spec}: empty value")));
        }
        let mut seen = std::collections::BTreeSet::new();
        for v in &values {
            if !seen.insert(v.as_str()) {
                return Err(GridError(format!(
                    "--vary {spec}: value \"{v}\" given twice"
                )));
            }
        }
        Ok(Axis {
            key: key.to_string(),
            values,
        })
    }
}

/// Splits at commas that are not inside `[]`, `{}` or quotes; trims each part.
fn split_top_level(raw: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    let mut cur = String::new();
    for c in raw.chars() {
        match (quote, c) {
            (Some(q), _) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[' | '{') => depth += 1,
            (None, ']' | '}') => depth -= 1,
            (None, ',') if depth == 0 => {
                out.push(cur.trim().to_string());
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur.trim().to_string());
    out
}

/// Parses `--seeds 1,2,3` (distinct, non-negative integers; order kept).
pub fn parse_seeds(spec: &str) -> Result<Vec<u64>, GridError> {
    let mut seeds = Vec::new();
    for part in spec.split(',') {
        let p = part.trim();
        let s: u64 = p
            .parse()
            .map_err(|_| GridError(format!("--seeds {spec}: \"{p}\" is not a seed")))?;
        if seeds.contains(&s) {
            return Err(GridError(format!("--seeds {spec}: seed {s} given twice")));
        }
        seeds.push(s);
    }
    Ok(seeds)
}

/// One arm: a named arm's settings (from `--arms`), then the value each axis takes.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Arm {
    /// The named arm this one starts from, if any.
    pub name: Option<String>,
    /// `(key, value)`: the named arm's settings, then one per axis, in axis order.
    pub settings: Vec<(String, String)>,
    /// Where the axis settings start in `settings` (the named arm's come first).
    pub axes_from: usize,
}

impl Arm {
    /// Human label: the arm's name, then `key=value` per axis (keys without a leading
    /// `stages.`), space-joined; `(config)` for a sweep with neither.
    pub fn label(&self) -> String {
        let parts: Vec<String> =
            self.name
                .iter()
                .cloned()
                .chain(self.settings[self.axes_from..].iter().map(|(k, v)| {
                    format!("{}={}", k.strip_prefix("stages.").unwrap_or(k), bare(v))
                }))
                .collect();
        if parts.is_empty() {
            "(config)".into()
        } else {
            parts.join(" ")
        }
    }

    /// File-system-safe name derived from the label; long or clashing names are
    /// shortened with a hash of the full label, so two arms never share a directory.
    pub fn dir_name(&self) -> String {
        if self.name.is_none() && self.settings.is_empty() {
            return "config".into();
        }
        let raw: String = self
            .name
            .iter()
            .cloned()
            .chain(
                self.settings[self.axes_from..]
                    .iter()
                    .map(|(k, v)| format!("{}={}", k.rsplit('.').next().unwrap_or(k), bare(v))),
            )
            .collect::<Vec<_>>()
            .join("__");
        let safe: String = raw
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '=') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let exact = safe == raw;
        if exact && safe.len() <= 60 {
            safe
        } else {
            let h = xxhash_rust::xxh3::xxh3_64(self.label().as_bytes());
            let cut: String = safe.chars().take(48).collect();
            format!("{cut}-{:08x}", h as u32)
        }
    }

    /// The `--set` overrides this arm applies.
    pub fn overrides(&self) -> Vec<String> {
        self.settings
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect()
    }
}

/// A value as shown in labels and names: a quoted TOML string without its quotes.
fn bare(v: &str) -> &str {
    for q in ['"', '\''] {
        if let Some(inner) = v.strip_prefix(q).and_then(|x| x.strip_suffix(q)) {
            if v.len() >= 2 {
                return inner;
            }
        }
    }
    v
}

/// One run of the sweep: an arm with a seed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Point {
    /// Index of the arm in [`Grid::arms`].
    pub arm: usize,
    /// The run seed (`run.seed`).
    pub seed: u64,
    /// Run name: `<arm dir>-s<seed>`; the run directory is `<sweep dir>/<name>`.
    pub name: String,
}

/// The expanded grid.
#[derive(Clone, Debug)]
pub struct Grid {
    /// The axes as given.
    pub axes: Vec<Axis>,
    /// Seeds, in the order given.
    pub seeds: Vec<u64>,
    /// Every combination of axis values, first axis slowest.
    pub arms: Vec<Arm>,
    /// Every arm × seed, arm-major.
    pub points: Vec<Point>,
}

impl Grid {
    /// Expands axes × seeds. Two axes may not name the same key.
    pub fn new(axes: Vec<Axis>, seeds: Vec<u64>) -> Result<Grid, GridError> {
        Grid::with_named(Vec::new(), axes, seeds)
    }

    /// Expands named arms (`(name, settings)`, e.g. from an `--arms` file) × axes × seeds;
    /// with no named arms, axes × seeds. An axis may not vary a key a named arm sets.
    pub fn with_named(
        named: Vec<(String, Vec<(String, String)>)>,
        axes: Vec<Axis>,
        seeds: Vec<u64>,
    ) -> Result<Grid, GridError> {
        for (name, settings) in &named {
            if let Some((k, _)) = settings
                .iter()
                .find(|(k, _)| axes.iter().any(|a| &a.key == k))
            {
                return Err(GridError(format!(
                    "--vary {k}: the named arm \"{name}\" sets that key too"
                )));
            }
        }
        if seeds.is_empty() {
            return Err(GridError("--seeds: at least one seed is needed".into()));
        }
        for (i, a) in axes.iter().enumerate() {
            if axes[..i].iter().any(|b| b.key == a.key) {
                return Err(GridError(format!(
                    "--vary {}: the key is varied twice; give all its values in one --vary",
                    a.key
                )));
            }
        }
        let mut arms: Vec<Arm> = if named.is_empty() {
            vec![Arm::default()]
        } else {
            named
                .into_iter()
                .map(|(name, settings)| Arm {
                    name: Some(name),
                    axes_from: settings.len(),
                    settings,
                })
                .collect()
        };
        for axis in &axes {
            arms = arms
                .into_iter()
                .flat_map(|arm| {
                    axis.values.iter().map(move |v| {
                        let mut a = arm.clone();
                        a.settings.push((axis.key.clone(), v.clone()));
                        a
                    })
                })
                .collect();
        }
        let mut dirs = std::collections::BTreeSet::new();
        for a in &arms {
            if !dirs.insert(a.dir_name()) {
                return Err(GridError(format!(
                    "two arms map to the directory \"{}\"; rename a value",
                    a.dir_name()
                )));
            }
        }
        let points = arms
            .iter()
            .enumerate()
            .flat_map(|(i, a)| {
                seeds.iter().map(move |&s| Point {
                    arm: i,
                    seed: s,
                    name: format!("{}-s{s}", a.dir_name()),
                })
            })
            .collect();
        Ok(Grid {
            axes,
            seeds,
            arms,
            points,
        })
    }

    /// The `--set` overrides of one point: the arm's settings, then `run.seed` and
    /// `run.name`.
    pub fn overrides(&self, p: &Point) -> Vec<String> {
        let mut o = self.arms[p.arm].overrides();
        o.push(format!("run.seed={}", p.seed));
        o.push(format!("run.name=\"{}\"", p.name));
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_split_at_top_level_commas_only() {
        let a = Axis::parse("stages.t.x=[1,2],[3], \"a,b\" ,4").unwrap();
        assert_eq!(a.key, "stages.t.x");
        assert_eq!(a.values, vec!["[1,2]", "[3]", "\"a,b\"", "4"]);
        assert!(Axis::parse("novalue").is_err());
        assert!(Axis::parse("k=1,,2").is_err());
        assert!(Axis::parse("k=1,1").is_err());
        assert!(Axis::parse("run.seed=1,2").is_err());
    }

    #[test]
    fn grid_is_the_product_first_axis_slowest_then_seeds() {
        let g = Grid::new(
            vec![
                Axis::parse("stages.m.strategy=lem,token").unwrap(),
                Axis::parse("stages.m.p=0.1,0.2,0.3").unwrap(),
            ],
            parse_seeds("7,3").unwrap(),
        )
        .unwrap();
        assert_eq!(g.arms.len(), 6);
        assert_eq!(g.points.len(), 12);
        assert_eq!(g.arms[0].label(), "m.strategy=lem m.p=0.1");
        assert_eq!(g.arms[1].label(), "m.strategy=lem m.p=0.2");
        assert_eq!(g.arms[3].label(), "m.strategy=token m.p=0.1");
        assert_eq!(g.points[0].name, "strategy=lem__p=0.1-s7");
        assert_eq!(g.points[1].name, "strategy=lem__p=0.1-s3");
        assert_eq!(g.points[11].seed, 3);
        assert_eq!(
            g.overrides(&g.points[2]),
            vec![
                "stages.m.strategy=lem",
                "stages.m.p=0.2",
                "run.seed=7",
                "run.name=\"strategy=lem__p=0.2-s7\""
            ]
        );
    }

    #[test]
    fn unsafe_or_clashing_names_get_hashed_and_distinct() {
        let g = Grid::new(
            vec![Axis::parse("stages.a.v=\"x/y\",\"x?y\"").unwrap()],
            vec![1],
        )
        .unwrap();
        let (a, b) = (g.arms[0].dir_name(), g.arms[1].dir_name());
        assert_ne!(a, b);
        assert!(a
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-=".contains(c)));
        assert!(Grid::new(vec![], vec![]).is_err());
        assert!(Grid::new(
            vec![Axis::parse("k=1").unwrap(), Axis::parse("k=2").unwrap()],
            vec![1]
        )
        .is_err());
        let quoted = Grid::new(
            vec![Axis::parse("stages.o.path=\"a.jsonl\"").unwrap()],
            vec![1],
        )
        .unwrap();
        assert_eq!(quoted.arms[0].label(), "o.path=a.jsonl");
        assert_eq!(quoted.points[0].name, "path=a.jsonl-s1");
        let none = Grid::new(vec![], vec![1, 2]).unwrap();
        assert_eq!(none.points.len(), 2);
        assert_eq!(none.points[0].name, "config-s1");
    }

    #[test]
    fn named_arms_times_axes_keep_their_names_and_settings() {
        let named = vec![
            ("baseline".to_string(), vec![]),
            (
                "vocab".to_string(),
                vec![(
                    "stages.train.vocab_curriculum".to_string(),
                    "\"token_ids\"".to_string(),
                )],
            ),
        ];
        let g = Grid::with_named(
            named.clone(),
            vec![Axis::parse("stages.train.lr=1e-3,5e-4").unwrap()],
            vec![1, 2],
        )
        .unwrap();
        let labels: Vec<String> = g.arms.iter().map(Arm::label).collect();
        assert_eq!(
            labels,
            [
                "baseline train.lr=1e-3",
                "baseline train.lr=5e-4",
                "vocab train.lr=1e-3",
                "vocab train.lr=5e-4"
            ]
        );
        assert_eq!(
            g.arms[2].overrides(),
            [
                "stages.train.vocab_curriculum=\"token_ids\"",
                "stages.train.lr=1e-3"
            ]
        );
        assert_eq!(g.points[0].name, "baseline__lr=1e-3-s1");
        assert_eq!(g.points.len(), 8);
        // Named arms alone.
        let g = Grid::with_named(named.clone(), vec![], vec![1]).unwrap();
        assert_eq!(g.arms[1].label(), "vocab");
        assert_eq!(g.points[1].name, "vocab-s1");
        // An axis may not vary what a named arm sets.
        let e = Grid::with_named(
            named,
            vec![Axis::parse("stages.train.vocab_curriculum=a,b").unwrap()],
            vec![1],
        )
        .unwrap_err();
        assert!(e.0.contains("named arm \"vocab\""), "{e}");
    }
}
