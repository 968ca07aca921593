//! Bad input gets a clear error naming the file, key or line, and a non-zero exit; never a panic.

use crate::util::{assert_clean_error, scratch, seqlab, set_path};
use std::path::Path;

/// A small experiment over `csv` written into `dir`.
fn experiment(dir: &Path, csv: &str, extra: &str) -> String {
    std::fs::write(dir.join("data.csv"), csv).expect("write csv");
    let exp = dir.join("exp.toml");
    std::fs::write(
        &exp,
        format!(
            "[experiment]\nname = \"bad\"\noutput_dir = {:?}\n[data]\nroot = {:?}\npath = \"data.csv\"\ntime_column = \"t\"\ntargets = [\"y\"]\nlookback = 4\nhorizon = 2\n[train]\nepochs = 1\n{extra}",
            dir.join("runs").display().to_string(),
            dir.display().to_string()
        ),
    )
    .expect("write experiment");
    exp.display().to_string()
}

fn rows(n: usize) -> String {
    let mut s = String::from("t,y,z\n");
    for i in 0..n {
        s.push_str(&format!("{i},{},{}\n", (i as f64 * 0.3).sin() + 2.0, i));
    }
    s
}

#[test]
fn missing_experiment_file() {
    let out = seqlab(&["run", "experiments/no_such_experiment.toml"]);
    assert_clean_error(&out, &["no_such_experiment.toml", "not found"]);
}

#[test]
fn missing_data_file() {
    let dir = scratch("missing-data");
    let exp = experiment(&dir, &rows(100), "");
    std::fs::remove_file(dir.join("data.csv")).expect("remove");
    assert_clean_error(&seqlab(&["run", &exp]), &["data.csv", "not found", "SEQLAB_DATA_ROOT"]);
}

#[test]
fn column_that_does_not_exist() {
    let dir = scratch("column");
    let exp = experiment(&dir, &rows(100), "");
    let out = seqlab(&["run", &exp, "--set", "data.targets=[\"price\"]"]);
    assert_clean_error(&out, &["data.csv", "`price`", "not found", "available: t, y, z"]);
}

#[test]
fn non_numeric_values_name_the_line() {
    let dir = scratch("non-numeric");
    let mut lines: Vec<String> = rows(100).lines().map(str::to_string).collect();
    lines[37] = "36,twelve,36".into();
    let exp = experiment(&dir, &(lines.join("\n") + "\n"), "");
    assert_clean_error(&seqlab(&["run", &exp]), &["data.csv", "line 38", "`y`", "twelve", "not a number"]);
}

#[test]
fn nan_in_csv_is_reported_under_the_error_policy() {
    let dir = scratch("nan");
    let mut lines: Vec<String> = rows(100).lines().map(str::to_string).collect();
    lines[10] = "9,NaN,9".into();
    let exp = experiment(&dir, &(lines.join("\n") + "\n"), "");
    assert_clean_error(&seqlab(&["run", &exp]), &["data.csv", "line 11", "missing value", "ffill"]);
}

#[test]
fn series_shorter_than_lookback_plus_horizon() {
    let dir = scratch("short");
    let exp = experiment(&dir, &rows(12), "");
    assert_clean_error(&seqlab(&["run", &exp]), &["data.csv", "lookback + horizon = 6"]);
}

#[test]
fn unknown_model_kind() {
    let dir = scratch("kind");
    let exp = experiment(&dir, &rows(100), "[model]\nkind = \"mamba\"\n");
    assert_clean_error(&seqlab(&["run", &exp]), &["mamba", "model.kind", "exp.toml"]);
}

#[test]
fn unknown_key() {
    let dir = scratch("key");
    let exp = experiment(&dir, &rows(100), "[model]\nhidden_size = 32\n");
    assert_clean_error(&seqlab(&["run", &exp]), &["hidden_size", "exp.toml"]);
    let dir = scratch("key-override");
    let exp = experiment(&dir, &rows(100), "");
    assert_clean_error(&seqlab(&["run", &exp, "--set", "train.epcohs=3"]), &["epcohs", "--set train.epcohs=3"]);
}

#[test]
fn eval_of_a_folder_that_is_not_a_run() {
    let dir = scratch("not-a-run");
    assert_clean_error(&seqlab(&["eval", &dir.display().to_string()]), &["not a run folder"]);
}

#[test]
fn every_command_has_help() {
    for args in [
        &["--help"][..],
        &["run", "--help"],
        &["config", "--help"],
        &["config", "show", "--help"],
        &["config", "explain", "--help"],
        &["eval", "--help"],
    ] {
        let out = seqlab(args);
        assert!(out.status.success(), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("Usage"), "{args:?}");
    }
}

#[test]
fn divergence_stops_with_an_error_and_keeps_the_run_folder() {
    let dir = scratch("diverge");
    let output = set_path("experiment.output_dir", &dir);
    let out = seqlab(&[
        "run",
        "experiments/stock.toml",
        "--set",
        &output,
        "--set",
        "model.kind=\"dlinear\"",
        "--set",
        "data.transform=\"none\"",
        "--set",
        "data.scale=false",
        "--set",
        "train.lr=1e30",
        "--set",
        "train.max_steps_per_epoch=5",
    ]);
    assert_clean_error(&out, &["diverged", "train.lr", "Run folder"]);
    let runs: Vec<_> = std::fs::read_dir(dir.join("stock")).expect("run folder kept").collect();
    assert_eq!(runs.len(), 1);
    let run = runs.into_iter().next().expect("one").expect("entry").path();
    assert!(run.join("config.toml").is_file() && run.join("metrics.csv").is_file());
}
