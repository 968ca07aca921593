//! Every file in experiments/ and configs/ parses and validates.

use crate::util::{root, scratch, seqlab, text};
use seqlab_config::{LoadOptions, load};
use std::path::{Path, PathBuf};

fn toml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let p = entry.expect("entry").path();
        if p.is_dir() {
            toml_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "toml") {
            out.push(p);
        }
    }
}

#[test]
fn every_experiment_resolves() {
    let mut files = Vec::new();
    toml_files(&root().join("experiments"), &mut files);
    assert!(files.len() >= 7, "expected the stock and ETTh1 experiments, found {files:?}");
    for f in files {
        let r = load(&f, &LoadOptions::default()).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        assert!(!r.config.experiment.name.is_empty());
    }
}

#[test]
fn every_preset_layers_onto_an_experiment() {
    let mut files = Vec::new();
    toml_files(&root().join("configs"), &mut files);
    assert!(files.len() >= 7);
    let dir = scratch("presets");
    for f in files {
        let exp = dir.join("e.toml");
        std::fs::write(
            &exp,
            format!("include = [{:?}]\n[data]\npath = \"x.csv\"\ntargets = [\"y\"]\n", f.display().to_string()),
        )
        .expect("write");
        let opts = LoadOptions { config_dir: Some(root().join("configs")), ..LoadOptions::default() };
        load(&exp, &opts).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
    }
}

#[test]
fn config_show_and_explain() {
    let out = seqlab(&["config", "show", "experiments/etth1/lstm.toml", "--set", "train.epochs=2"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let parsed: toml::Table = toml::from_str(&stdout).expect("show prints TOML");
    assert_eq!(parsed["train"]["epochs"].as_integer(), Some(2));
    assert_eq!(parsed["model"]["kind"].as_str(), Some("lstm"));
    assert_eq!(parsed["data"]["lookback"].as_integer(), Some(96));

    let out = seqlab(&["config", "explain", "experiments/etth1/lstm.toml", "--set", "train.epochs=2"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let line = |key: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(&format!("{key} =")))
            .unwrap_or_else(|| panic!("{key} in {stdout}"))
            .to_string()
    };
    assert!(line("train.epochs").ends_with("# --set train.epochs=2"));
    assert!(line("model.kind").contains("configs/models/lstm.toml"));
    assert!(line("data.lookback").contains("configs/data/etth1.toml"));
    assert!(line("model.revin").contains("experiments/etth1/lstm.toml"));
    assert!(line("model.moving_avg").ends_with("# default"));
    assert!(line("model.patch_len").contains("experiments/etth1/lstm.toml"));
}
