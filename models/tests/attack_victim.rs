//! Word-CNN and BiLSTM victims: train on a slice of AfriSenti Hausa, beat the majority class on
//! a held-out slice, and survive a save/load round trip with identical probabilities. Skips
//! (with a message) when the shared data is absent.

use std::error::Error;
use std::path::Path;

use mavuno_models::attack::Victim;
use mavuno_models::victims::data::shuffle_seeded;
use mavuno_models::victims::{load_victim, read_labeled, Arch, TrainOptions, WordVictim};
use tch::Device;

const HAU: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/data/afrisenti/hau/dev.tsv"
);

type Rows = Vec<(String, String)>;

fn split() -> Option<(Rows, Rows)> {
    let path = std::env::var("MAVUNO_AFRISENTI_HAU").unwrap_or_else(|_| HAU.to_string());
    let mut rows = read_labeled(Path::new(&path)).ok()?;
    shuffle_seeded(&mut rows, 1);
    let dev = rows.split_off(rows.len() * 4 / 5);
    Some((rows, dev))
}

fn check(arch: Arch, epochs: usize) -> Result<(), Box<dyn Error>> {
    let (train, dev) = split().unwrap_or_else(|| {
        panic!("{HAU} not found (../shared/data must sit beside the repository)")
    });
    let opts = TrainOptions {
        arch,
        epochs,
        ..TrainOptions::default()
    };
    let (victim, report) = WordVictim::train(&train, Some(&dev), opts, Device::Cpu)?;
    println!("{arch:?}: {}", serde_json::to_string(&report)?);
    let best = report.best_dev_accuracy.unwrap_or(0.0);
    let major = report.dev_majority_accuracy.unwrap_or(1.0);
    assert!(best > major + 0.05, "dev {best:.3} vs majority {major:.3}");
    assert!(
        (victim.accuracy(&dev)? - best).abs() < 1e-9,
        "best epoch restored"
    );

    let tmp = tempfile::tempdir()?;
    victim.save(tmp.path())?;
    let loaded = load_victim(tmp.path(), Device::Cpu)?;
    let texts: Vec<&str> = dev.iter().take(20).map(|(t, _)| t.as_str()).collect();
    let (a, b) = (victim.predict_proba(&texts)?, loaded.predict_proba(&texts)?);
    for (x, y) in a.iter().zip(&b) {
        for (p, q) in x.iter().zip(y) {
            assert!((p - q).abs() < 1e-6);
        }
    }
    assert_eq!(loaded.labels(), victim.labels());
    Ok(())
}

#[test]
fn word_cnn_beats_majority_on_afrisenti_hau() -> Result<(), Box<dyn Error>> {
    check(Arch::Cnn, 6)
}

#[test]
fn bilstm_beats_majority_on_afrisenti_hau() -> Result<(), Box<dyn Error>> {
    check(Arch::Bilstm, 6)
}

#[test]
fn bert_dir_is_loaded_as_a_transformer_classifier() {
    // A directory with config.json goes to `finetune::Classifier`; an empty config is
    // rejected by that loader (not reported as "not a victim directory").
    let dir = tempfile::tempdir().expect("tempdir").keep();
    let _ = std::fs::write(dir.join("config.json"), "{}");
    let err = load_victim(&dir, Device::Cpu)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(!err.is_empty(), "an empty config.json must not load");
    assert!(!err.contains("not a victim directory"), "{err}");
    let none = tempfile::tempdir().expect("tempdir").keep();
    let err = load_victim(&none, Device::Cpu)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("not a victim directory"), "{err}");
}
