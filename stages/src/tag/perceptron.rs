//! An averaged structured perceptron with first-order Viterbi decoding (Collins 2002).
//!
//! Emission weights live in one flat table of `2^bits` hashed feature rows × labels;
//! transition weights are a `(labels + 1) × labels` matrix (the extra row is the
//! sentence start). Training is deterministic: sentences are shuffled each epoch by a
//! ChaCha RNG seeded with `seed`, and with a dev set the epoch with the best dev score
//! (accuracy for POS, strict micro F1 for NER) is kept, stopping after `patience`
//! epochs without improvement.
//!
//! Model file (`.mvt`): zstd of `<JSON header>\n<body>`. The header carries
//! `"format": "mavuno-tagger", "version": 1`, the task, the labels, `bits` and the
//! gazetteer; the body holds the non-zero emission rows (`u32` row, `labels × f32`)
//! and the transition matrix, little-endian. Unknown formats or versions are rejected.

use super::data::Sentence;
use super::features::{extract, Gazetteer};
use super::metrics;
use super::Tagger;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{Read, Write};
use std::path::Path;

/// The model format name in the header.
pub const FORMAT: &str = "mavuno-tagger";
/// The model format version this code reads and writes.
pub const VERSION: u32 = 1;

/// What a model tags.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    /// Part of speech, one tag per word.
    Pos,
    /// IOB2 named entities.
    Ner,
}

impl std::str::FromStr for Task {
    type Err = String;
    fn from_str(s: &str) -> Result<Task, String> {
        match s {
            "pos" => Ok(Task::Pos),
            "ner" => Ok(Task::Ner),
            _ => Err(format!("unknown task `{s}` (expected `pos` or `ner`)")),
        }
    }
}

/// Training settings.
#[derive(Clone, Debug)]
pub struct TrainOptions {
    /// Task (decides the dev metric).
    pub task: Task,
    /// Maximum epochs.
    pub epochs: usize,
    /// Shuffle seed.
    pub seed: u64,
    /// Epochs without dev improvement before stopping.
    pub patience: usize,
    /// Rows whose largest absolute averaged weight is below this are not saved.
    pub prune: f32,
}

impl Default for TrainOptions {
    fn default() -> TrainOptions {
        TrainOptions {
            task: Task::Pos,
            epochs: 12,
            seed: 42,
            patience: 3,
            prune: 0.0,
        }
    }
}

/// Facts about a training run, stored in the model header.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct TrainInfo {
    /// Training sentences.
    pub sentences: usize,
    /// Training tokens.
    pub tokens: usize,
    /// Epochs run.
    pub epochs_run: usize,
    /// The epoch kept (1-based).
    pub best_epoch: usize,
    /// Dev score of the kept epoch, if a dev set was given.
    pub dev_score: Option<f64>,
    /// Seed.
    pub seed: u64,
}

#[derive(Serialize, Deserialize)]
struct Header {
    format: String,
    version: u32,
    task: Task,
    labels: Vec<String>,
    bits: u32,
    gazetteer: BTreeMap<String, Vec<String>>,
    train: TrainInfo,
}

/// A trained tagger.
#[derive(Clone, Debug)]
pub struct Perceptron {
    /// The task.
    pub task: Task,
    labels: Vec<String>,
    bits: u32,
    /// `rows × labels`.
    emit: Vec<f32>,
    /// `(labels + 1) × labels`; row `labels` is the start state.
    trans: Vec<f32>,
    gaz: Gazetteer,
    /// Training facts.
    pub info: TrainInfo,
}

struct Features {
    rows: Vec<u32>,
    starts: Vec<usize>,
}

fn featurize(words: &[&str], gaz: &Gazetteer, mask: u64) -> Features {
    let (mut h, mut starts) = (Vec::new(), Vec::new());
    extract(words, gaz, &mut h, &mut starts);
    Features {
        rows: h.iter().map(|x| (x & mask) as u32).collect(),
        starts,
    }
}

/// Viterbi over emission scores `n × l` and transitions `(l + 1) × l`.
fn viterbi(emit: &[f32], trans: &[f32], n: usize, l: usize) -> Vec<usize> {
    if n == 0 {
        return Vec::new();
    }
    let mut score = vec![0f32; n * l];
    let mut back = vec![0u16; n * l];
    for y in 0..l {
        score[y] = trans[l * l + y] + emit[y];
    }
    for i in 1..n {
        for y in 0..l {
            let mut best = f32::NEG_INFINITY;
            let mut arg = 0;
            for p in 0..l {
                let s = score[(i - 1) * l + p] + trans[p * l + y];
                if s > best {
                    best = s;
                    arg = p;
                }
            }
            score[i * l + y] = best + emit[i * l + y];
            back[i * l + y] = arg as u16;
        }
    }
    let mut y = (0..l).fold(0, |a, y| {
        if score[(n - 1) * l + y] > score[(n - 1) * l + a] {
            y
        } else {
            a
        }
    });
    let mut out = vec![0; n];
    for i in (0..n).rev() {
        out[i] = y;
        y = back[i * l + y] as usize;
    }
    out
}

fn emissions(emit: &[f32], f: &Features, l: usize, n: usize) -> Vec<f32> {
    let mut e = vec![0f32; n * l];
    for i in 0..n {
        let dst = &mut e[i * l..(i + 1) * l];
        for &r in &f.rows[f.starts[i]..f.starts[i + 1]] {
            let row = &emit[r as usize * l..(r as usize + 1) * l];
            for (d, w) in dst.iter_mut().zip(row) {
                *d += w;
            }
        }
    }
    e
}

impl Perceptron {
    fn mask(&self) -> u64 {
        (1u64 << self.bits) - 1
    }

    /// Tags and returns label indices.
    pub fn tag_ids(&self, words: &[&str]) -> Vec<usize> {
        let l = self.labels.len();
        let f = featurize(words, &self.gaz, self.mask());
        let e = emissions(&self.emit, &f, l, words.len());
        viterbi(&e, &self.trans, words.len(), l)
    }

    /// Trains a model. `dev` enables early stopping.
    pub fn train(
        train: &[Sentence],
        dev: Option<&[Sentence]>,
        gaz: Gazetteer,
        opts: &TrainOptions,
        log: &mut dyn FnMut(&str),
    ) -> Result<Perceptron, String> {
        let train: Vec<&Sentence> = train.iter().filter(|s| !s.words.is_empty()).collect();
        if train.is_empty() {
            return Err("no training sentences".into());
        }
        let mut labels: Vec<String> = train
            .iter()
            .flat_map(|s| s.tags.iter().cloned())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        if opts.task == Task::Ner && !labels.iter().any(|t| t == "O") {
            labels.insert(0, "O".into());
        }
        let l = labels.len();
        if l > u16::MAX as usize {
            return Err(format!("too many labels ({l})"));
        }
        let idx: HashMap<&str, usize> = labels
            .iter()
            .enumerate()
            .map(|(i, t)| (t.as_str(), i))
            .collect();
        // Size the table from the number of distinct features (≈ 2 buckets per feature).
        let mut distinct = HashSet::new();
        let (mut hs, mut st) = (Vec::new(), Vec::new());
        for s in &train {
            let w: Vec<&str> = s.words.iter().map(String::as_str).collect();
            extract(&w, &gaz, &mut hs, &mut st);
            distinct.extend(hs.iter().copied());
        }
        let bits = (distinct.len().max(1) * 2)
            .next_power_of_two()
            .trailing_zeros()
            .clamp(16, 21);
        drop(distinct);
        let mask = (1u64 << bits) - 1;
        let feats: Vec<Features> = train
            .iter()
            .map(|s| {
                featurize(
                    &s.words.iter().map(String::as_str).collect::<Vec<_>>(),
                    &gaz,
                    mask,
                )
            })
            .collect();
        let gold: Vec<Vec<usize>> = train
            .iter()
            .map(|s| s.tags.iter().map(|t| idx[t.as_str()]).collect())
            .collect();
        let rows = 1usize << bits;
        let mut m = Perceptron {
            task: opts.task,
            labels,
            bits,
            emit: vec![0.0; rows * l],
            trans: vec![0.0; (l + 1) * l],
            gaz,
            info: TrainInfo::default(),
        };
        // Lazy averaging: avg = w - acc / c, acc accumulates c·Δ.
        let mut acc_e = vec![0f32; rows * l];
        let mut acc_t = vec![0f32; (l + 1) * l];
        let mut c: f32 = 1.0;
        let mut order: Vec<usize> = (0..train.len()).collect();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(opts.seed);
        let mut best: Option<(f64, usize, Vec<f32>, Vec<f32>)> = None;
        let mut since_best = 0;
        let mut epochs_run = 0;
        for epoch in 1..=opts.epochs.max(1) {
            epochs_run = epoch;
            order.shuffle(&mut rng);
            let mut errors = 0usize;
            for &k in &order {
                let f = &feats[k];
                let g = &gold[k];
                let n = g.len();
                let e = emissions(&m.emit, f, l, n);
                let p = viterbi(&e, &m.trans, n, l);
                if p != *g {
                    for i in 0..n {
                        let (gp, pp) = if i == 0 { (l, l) } else { (g[i - 1], p[i - 1]) };
                        if g[i] != p[i] {
                            errors += 1;
                            for &r in &f.rows[f.starts[i]..f.starts[i + 1]] {
                                let r = r as usize * l;
                                m.emit[r + g[i]] += 1.0;
                                acc_e[r + g[i]] += c;
                                m.emit[r + p[i]] -= 1.0;
                                acc_e[r + p[i]] -= c;
                            }
                        }
                        if g[i] != p[i] || gp != pp {
                            m.trans[gp * l + g[i]] += 1.0;
                            acc_t[gp * l + g[i]] += c;
                            m.trans[pp * l + p[i]] -= 1.0;
                            acc_t[pp * l + p[i]] -= c;
                        }
                    }
                }
                c += 1.0;
            }
            let avg = |w: &[f32], a: &[f32]| -> Vec<f32> {
                w.iter().zip(a).map(|(w, a)| w - a / c).collect()
            };
            match dev {
                Some(dev) => {
                    let trial = Perceptron {
                        emit: avg(&m.emit, &acc_e),
                        trans: avg(&m.trans, &acc_t),
                        info: TrainInfo::default(),
                        ..m.clone_shallow()
                    };
                    let score = trial.dev_score(dev);
                    log(&format!(
                        "epoch {epoch}: train token errors {errors}, dev {score:.4}"
                    ));
                    if best.as_ref().is_none_or(|b| score > b.0) {
                        best = Some((score, epoch, trial.emit, trial.trans));
                        since_best = 0;
                    } else {
                        since_best += 1;
                        if since_best >= opts.patience {
                            break;
                        }
                    }
                }
                None => {
                    log(&format!("epoch {epoch}: train token errors {errors}"));
                    if errors == 0 {
                        break;
                    }
                }
            }
        }
        let (dev_score, best_epoch) = match best {
            Some((s, e, emit, trans)) => {
                m.emit = emit;
                m.trans = trans;
                (Some(s), e)
            }
            None => {
                m.emit = m.emit.iter().zip(&acc_e).map(|(w, a)| w - a / c).collect();
                m.trans = m.trans.iter().zip(&acc_t).map(|(w, a)| w - a / c).collect();
                (None, epochs_run)
            }
        };
        if opts.prune > 0.0 {
            for row in m.emit.chunks_mut(l) {
                if row.iter().all(|w| w.abs() < opts.prune) {
                    row.iter_mut().for_each(|w| *w = 0.0);
                }
            }
        }
        m.info = TrainInfo {
            sentences: train.len(),
            tokens: gold.iter().map(Vec::len).sum(),
            epochs_run,
            best_epoch,
            dev_score,
            seed: opts.seed,
        };
        Ok(m)
    }

    /// A copy without the weight tables (which the caller replaces).
    fn clone_shallow(&self) -> Perceptron {
        Perceptron {
            task: self.task,
            labels: self.labels.clone(),
            bits: self.bits,
            emit: Vec::new(),
            trans: Vec::new(),
            gaz: self.gaz.clone(),
            info: TrainInfo::default(),
        }
    }

    /// Dev score: accuracy (POS) or strict micro F1 (NER).
    pub fn dev_score(&self, dev: &[Sentence]) -> f64 {
        let gold: Vec<Vec<String>> = dev.iter().map(|s| s.tags.clone()).collect();
        let pred: Vec<Vec<String>> = dev
            .iter()
            .map(|s| self.tag(&s.words.iter().map(String::as_str).collect::<Vec<_>>()))
            .collect();
        match self.task {
            Task::Pos => metrics::accuracy(&gold, &pred),
            Task::Ner => metrics::ner_f1(&gold, &pred),
        }
    }

    /// Writes the model file.
    pub fn save(&self, path: &Path) -> Result<(), String> {
        let l = self.labels.len();
        let mut gazetteer: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (w, &bits) in &self.gaz.words {
            for (k, t) in self.gaz.types.iter().enumerate() {
                if bits & (1 << (k % 32)) != 0 {
                    gazetteer.entry(t.clone()).or_default().push(w.clone());
                }
            }
        }
        gazetteer.values_mut().for_each(|v| v.sort());
        let header = Header {
            format: FORMAT.into(),
            version: VERSION,
            task: self.task,
            labels: self.labels.clone(),
            bits: self.bits,
            gazetteer,
            train: self.info.clone(),
        };
        let mut buf = serde_json::to_vec(&header).map_err(|e| e.to_string())?;
        buf.push(b'\n');
        let nz: Vec<usize> = (0..1usize << self.bits)
            .filter(|&r| self.emit[r * l..(r + 1) * l].iter().any(|&w| w != 0.0))
            .collect();
        buf.extend_from_slice(&(nz.len() as u32).to_le_bytes());
        for r in nz {
            buf.extend_from_slice(&(r as u32).to_le_bytes());
            for w in &self.emit[r * l..(r + 1) * l] {
                buf.extend_from_slice(&w.to_le_bytes());
            }
        }
        for w in &self.trans {
            buf.extend_from_slice(&w.to_le_bytes());
        }
        let io = |e: std::io::Error| format!("{}: {e}", path.display());
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let f = std::fs::File::create(path).map_err(io)?;
        let mut z = zstd::Encoder::new(f, 9).map_err(io)?;
        z.write_all(&buf).map_err(io)?;
        z.finish().map_err(io)?;
        Ok(())
    }

    /// The task of a model file, from its header alone (the weights are not read), so a
    /// caller can pick the stage type (`tag_pos` or `tag_ner`) that will load it.
    pub fn task_of(path: &Path) -> Result<Task, String> {
        use std::io::BufRead;
        let p = path.display();
        let f = std::fs::File::open(path).map_err(|e| format!("{p}: {e}"))?;
        let mut line = Vec::new();
        zstd::Decoder::new(f)
            .map(std::io::BufReader::new)
            .and_then(|mut d| d.read_until(b'\n', &mut line))
            .map_err(|e| format!("{p}: not a mavuno tagger model (zstd: {e})"))?;
        #[derive(Deserialize)]
        struct TaskOnly {
            task: Task,
        }
        serde_json::from_slice::<TaskOnly>(&line)
            .map(|h| h.task)
            .map_err(|e| format!("{p}: not a mavuno tagger model (header: {e})"))
    }

    /// Reads a model file.
    pub fn load(path: &Path) -> Result<Perceptron, String> {
        let p = path.display();
        let f = std::fs::File::open(path).map_err(|e| format!("{p}: {e}"))?;
        let mut buf = Vec::new();
        zstd::Decoder::new(f)
            .and_then(|mut d| d.read_to_end(&mut buf))
            .map_err(|e| format!("{p}: not a mavuno tagger model (zstd: {e})"))?;
        Self::from_bytes(&buf).map_err(|e| format!("{p}: {e}"))
    }

    fn from_bytes(buf: &[u8]) -> Result<Perceptron, String> {
        let nl = buf
            .iter()
            .position(|&b| b == b'\n')
            .ok_or("not a mavuno tagger model (no header)")?;
        let v: serde_json::Value = serde_json::from_slice(&buf[..nl])
            .map_err(|e| format!("not a mavuno tagger model (header: {e})"))?;
        if v.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
            return Err(format!(
                "not a mavuno tagger model (format is {}, expected \"{FORMAT}\")",
                v.get("format").unwrap_or(&serde_json::Value::Null)
            ));
        }
        let ver = v.get("version").and_then(|x| x.as_u64()).unwrap_or(0);
        if ver != VERSION as u64 {
            return Err(format!("unsupported model version {ver} (this build reads version {VERSION}); retrain the model"));
        }
        let h: Header = serde_json::from_value(v).map_err(|e| format!("bad model header: {e}"))?;
        let l = h.labels.len();
        if l == 0 || h.bits > 26 {
            return Err("bad model header: no labels or table too large".into());
        }
        let mut body = &buf[nl + 1..];
        let short = || "truncated model body".to_string();
        let u32_at = |b: &mut &[u8]| -> Result<u32, String> {
            let (x, rest) = b.split_first_chunk::<4>().ok_or_else(short)?;
            *b = rest;
            Ok(u32::from_le_bytes(*x))
        };
        let n = u32_at(&mut body)? as usize;
        let rows = 1usize << h.bits;
        let mut emit = vec![0f32; rows * l];
        for _ in 0..n {
            let r = u32_at(&mut body)? as usize;
            if r >= rows {
                return Err(format!("model row {r} out of range"));
            }
            for k in 0..l {
                emit[r * l + k] = f32::from_bits(u32_at(&mut body)?);
            }
        }
        let mut trans = vec![0f32; (l + 1) * l];
        for t in trans.iter_mut() {
            *t = f32::from_bits(u32_at(&mut body)?);
        }
        if !body.is_empty() {
            return Err("trailing bytes after model body".into());
        }
        let mut gaz = Gazetteer::default();
        for (t, ws) in h.gazetteer {
            gaz.add(&t, ws);
        }
        Ok(Perceptron {
            task: h.task,
            labels: h.labels,
            bits: h.bits,
            emit,
            trans,
            gaz,
            info: h.train,
        })
    }
}

impl Tagger for Perceptron {
    fn tag(&self, words: &[&str]) -> Vec<String> {
        self.tag_ids(words)
            .into_iter()
            .map(|i| self.labels[i].clone())
            .collect()
    }
    fn labels(&self) -> &[String] {
        &self.labels
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(s: &str) -> Sentence {
        let mut out = Sentence::default();
        for (i, wt) in s.split_whitespace().enumerate() {
            let (w, t) = wt.rsplit_once('/').unwrap();
            out.words.push(w.into());
            out.tags.push(t.into());
            out.lines.push(i as u64 + 1);
        }
        out
    }

    fn toy() -> Vec<Sentence> {
        let mut v = Vec::new();
        for (a, b) in [
            ("Ade", "Lagos"),
            ("Bola", "Abuja"),
            ("Chike", "Kano"),
            ("Dayo", "Ibadan"),
        ] {
            v.push(sent(&format!("{a}/B-PER lọ/O sí/O {b}/B-LOC ./O")));
            v.push(sent(&format!("{a}/B-PER Olú/I-PER wá/O láti/O {b}/B-LOC")));
            v.push(sent(&format!("ilé/O {a}/B-PER dára/O")));
        }
        v
    }

    #[test]
    fn learns_a_tiny_ner_set() {
        let opts = TrainOptions {
            task: Task::Ner,
            epochs: 10,
            ..Default::default()
        };
        let m = Perceptron::train(&toy(), None, Gazetteer::default(), &opts, &mut |_| {}).unwrap();
        assert_eq!(
            m.tag(&["Ade", "Olú", "lọ", "sí", "Kano"]),
            ["B-PER", "I-PER", "O", "O", "B-LOC"]
        );
        assert_eq!(m.dev_score(&toy()), 1.0);
        assert!(m.tag(&[]).is_empty());
    }

    #[test]
    fn training_is_deterministic() {
        let opts = TrainOptions {
            task: Task::Ner,
            epochs: 3,
            ..Default::default()
        };
        let a = Perceptron::train(
            &toy(),
            Some(&toy()),
            Gazetteer::default(),
            &opts,
            &mut |_| {},
        )
        .unwrap();
        let b = Perceptron::train(
            &toy(),
            Some(&toy()),
            Gazetteer::default(),
            &opts,
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(a.emit, b.emit);
        assert_eq!(a.trans, b.trans);
    }

    #[test]
    fn round_trip_and_version_rejection() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.mvt");
        let mut g = Gazetteer::default();
        g.add("PER", ["Ade".to_string()]);
        let opts = TrainOptions {
            task: Task::Ner,
            epochs: 4,
            ..Default::default()
        };
        let m = Perceptron::train(&toy(), None, g, &opts, &mut |_| {}).unwrap();
        m.save(&p).unwrap();
        let back = Perceptron::load(&p).unwrap();
        assert_eq!(Perceptron::task_of(&p), Ok(Task::Ner));
        assert_eq!(back.labels, m.labels);
        assert_eq!(back.emit, m.emit);
        assert_eq!(back.trans, m.trans);
        assert_eq!(back.gaz, m.gaz);
        assert_eq!(back.info, m.info);
        // version 2 header
        let mut buf = Vec::new();
        zstd::Decoder::new(std::fs::File::open(&p).unwrap())
            .unwrap()
            .read_to_end(&mut buf)
            .unwrap();
        let s = String::from_utf8_lossy(&buf).replacen("\"version\":1", "\"version\":2", 1);
        let e = Perceptron::from_bytes(s.as_bytes()).unwrap_err();
        assert_eq!(
            e,
            "unsupported model version 2 (this build reads version 1); retrain the model"
        );
        std::fs::write(&p, b"garbage").unwrap();
        assert!(Perceptron::load(&p)
            .unwrap_err()
            .contains("not a mavuno tagger model"));
        assert!(Perceptron::task_of(&p)
            .unwrap_err()
            .contains("not a mavuno tagger model"));
    }

    #[test]
    fn empty_training_set_is_an_error() {
        let e = Perceptron::train(
            &[Sentence::default()],
            None,
            Gazetteer::default(),
            &TrainOptions::default(),
            &mut |_| {},
        );
        assert_eq!(e.unwrap_err(), "no training sentences");
    }
}
