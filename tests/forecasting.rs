//! Training through the real binary: every zoo model on a slice of real data, the run folder,
//! the metric keys, learning, `eval`, and the ETTh1 protocol.

use crate::util::{external_data_root, metric, metrics, run_dir, scratch, seqlab, set_path, text};

const KEYS: [&str; 6] = ["mse", "mae", "rmse", "mape", "smape", "mase"];

/// Train the stock experiment for a few steps with `model` on the first 1500 rows.
fn smoke(kind: &str, extra: &[&str]) -> std::path::PathBuf {
    let out_dir = scratch(kind);
    let output = set_path("experiment.output_dir", &out_dir);
    let kind_set = format!("model.kind={kind}");
    let mut args = vec![
        "run",
        "experiments/stock.toml",
        "--quiet",
        "--set",
        &output,
        "--set",
        &kind_set,
        "--set",
        "data.max_rows=1500",
        "--set",
        "model.d_hidden=8",
        "--set",
        "model.n_heads=2",
        "--set",
        "model.patch_len=12",
        "--set",
        "train.epochs=2",
        "--set",
        "train.max_steps_per_epoch=4",
    ];
    args.extend_from_slice(extra);
    run_dir(&seqlab(&args))
}

fn check_run_folder(dir: &std::path::Path) {
    for f in [
        "config.toml",
        "metrics.csv",
        "metrics.json",
        "predictions.csv",
        "forecast.svg",
        "loss.svg",
        "run.log",
        "scaler.json",
        "checkpoints/best.bpk",
        "checkpoints/last.bpk",
    ] {
        assert!(dir.join(f).is_file(), "{} lacks {f}", dir.display());
    }
    let m = metrics(dir);
    for k in KEYS {
        for prefix in ["test", "baseline.persistence", "baseline.seasonal_naive"] {
            let v = metric(&m, &format!("{prefix}.{k}"));
            assert!(v.is_finite() && v >= 0.0, "{prefix}.{k} = {v}");
        }
    }
    let csv = std::fs::read_to_string(dir.join("metrics.csv")).expect("metrics.csv");
    assert!(csv.starts_with("epoch,train_loss,valid_loss,lr,seconds\n0,,"), "{csv}");
    let epochs = m["train.epochs_run"].as_u64().expect("epochs_run") as usize;
    assert_eq!(csv.lines().count(), 1 + 1 + epochs, "header, epoch 0, one row per epoch");
    let preds = std::fs::read_to_string(dir.join("predictions.csv")).expect("predictions.csv");
    let mut lines = preds.lines();
    assert_eq!(lines.next(), Some("origin_timestamp,timestamp,step,target,actual,forecast"));
    let first: Vec<&str> = lines.next().expect("a prediction").split(',').collect();
    assert_eq!(first.len(), 6);
    assert_eq!(first[2], "1");
    assert_eq!(first[3], "Close");
    assert!(first[1] > first[0], "forecast time after origin: {first:?}");
    // The saved config reloads as a complete experiment.
    let cfg = std::fs::read_to_string(dir.join("config.toml")).expect("config.toml");
    seqlab_config::from_toml_str(&cfg, &dir.join("config.toml")).expect("saved config parses");
    assert!(std::fs::read_to_string(dir.join("forecast.svg")).expect("svg").contains("<path"));
}

#[test]
fn every_zoo_model_trains_through_the_binary() {
    for kind in ["rnn", "lstm", "gru", "transformer", "dlinear"] {
        let dir = smoke(kind, &[]);
        check_run_folder(&dir);
        let m = metrics(&dir);
        assert_eq!(m["test.windows"].as_u64(), Some(222), "{kind}: 1499 return rows, test rows [1273, 1499), H=5");
        assert_eq!(m["train.epochs_run"].as_u64(), Some(2), "{kind}");
    }
}

#[test]
fn bidirectional_and_revin_variants_train() {
    let dir = smoke(
        "gru",
        &[
            "--set",
            "data.covariates=[\"Open\", \"Volume\"]",
            "--set",
            "model.patch_len=0",
            "--set",
            "model.bidirectional=true",
            "--set",
            "model.revin=true",
            "--set",
            "train.optimizer=\"adamw\"",
            "--set",
            "task.loss=\"huber\"",
        ],
    );
    check_run_folder(&dir);
}

/// Training must learn: with a fixed seed, the best validation loss after training is below the
/// untrained model's (epoch 0 in metrics.csv).
#[test]
fn training_lowers_the_validation_loss() {
    let out_dir = scratch("learn");
    let output = set_path("experiment.output_dir", &out_dir);
    let out = seqlab(&[
        "run",
        "experiments/etth1/dlinear.toml",
        "--quiet",
        "--set",
        &output,
        "--set",
        &set_path("data.root", &external_data_root()),
        "--set",
        "train.epochs=2",
        "--set",
        "train.max_steps_per_epoch=40",
    ]);
    let dir = run_dir(&out);
    let m = metrics(&dir);
    let before = metric(&m, "train.initial_valid_loss");
    let after = metric(&m, "train.best_valid_loss");
    assert!(after < 0.9 * before, "valid loss {before} -> {after}");
    // The standard protocol: every test window, stride 1: 2880 - 96 + 1.
    assert_eq!(m["test.windows"].as_u64(), Some(2785));
    // Even a briefly trained linear model beats repeating the last value on ETTh1.
    assert!(metric(&m, "test.mse") < metric(&m, "baseline.persistence.mse"));

    // `seqlab eval` reproduces the saved test metrics from the best checkpoint.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_seqlab"))
        .current_dir(crate::util::root())
        .args(["eval", &dir.display().to_string()])
        .output()
        .expect("eval");
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let model_line = stdout.lines().find(|l| l.starts_with("model")).expect("model row");
    let mse: f64 = model_line.split_whitespace().nth(1).expect("mse column").parse().expect("number");
    assert!((mse - metric(&m, "test.mse")).abs() < 1e-3, "{mse} vs {}", metric(&m, "test.mse"));
}

#[test]
fn data_root_comes_from_the_environment() {
    let out_dir = scratch("env-root");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_seqlab"))
        .current_dir(crate::util::root())
        .env("SEQLAB_DATA_ROOT", external_data_root())
        .env("SEQLAB_EXPERIMENT__OUTPUT_DIR", &out_dir)
        .args([
            "run",
            "experiments/etth1.toml",
            "--quiet",
            "--set",
            "train.epochs=1",
            "--set",
            "train.max_steps_per_epoch=2",
        ])
        .output()
        .expect("run");
    let dir = run_dir(&out);
    assert!(dir.starts_with(&out_dir), "{} not under {}", dir.display(), out_dir.display());
    let cfg = std::fs::read_to_string(dir.join("config.toml")).expect("config");
    assert!(cfg.contains(&external_data_root().display().to_string()), "resolved root saved");

    // A wrong checksum (e.g. a different copy of the data) is an error, not a different result.
    let out = seqlab(&[
        "run",
        "experiments/etth1.toml",
        "--set",
        &set_path("data.root", &external_data_root()),
        "--set",
        "data.sha256=\"0000\"",
    ]);
    crate::util::assert_clean_error(&out, &["checksum mismatch", "ETTh1.csv"]);
}

/// The stock experiment as shipped: the LSTM's test RMSE is within 10% of persistence's (one
/// that failed to learn is far worse; one far better is likely leaking the future).
#[test]
fn stock_experiment_is_within_ten_percent_of_persistence() {
    let out_dir = scratch("stock");
    let output = set_path("experiment.output_dir", &out_dir);
    let dir = run_dir(&seqlab(&["run", "experiments/stock.toml", "--quiet", "--set", &output]));
    check_run_folder(&dir);
    // Every test window is in predictions.csv: 1194 windows x 5 steps x 1 target.
    let preds = std::fs::read_to_string(dir.join("predictions.csv")).expect("predictions.csv");
    assert_eq!(preds.lines().count(), 1 + 1194 * 5);
    let m = metrics(&dir);
    let ratio = metric(&m, "test.rmse") / metric(&m, "baseline.persistence.rmse");
    assert!((0.9..=1.1).contains(&ratio), "model / persistence RMSE = {ratio}");
    assert_eq!(m["test.windows"].as_u64(), Some(1194));
}
