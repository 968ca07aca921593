//! Language modelling through the real binary on Tiny Shakespeare (read from the data root).

use crate::util::{assert_clean_error, external_data_root, metric, metrics, run_dir, scratch, seqlab, set_path, text};

fn tiny_run(kind: &str) -> std::path::PathBuf {
    let out_dir = scratch(&format!("lm-{kind}"));
    let output = set_path("experiment.output_dir", &out_dir);
    let root = set_path("data.root", &external_data_root());
    let kind = format!("model.kind={kind}");
    run_dir(&seqlab(&[
        "run",
        "experiments/shakespeare_char.toml",
        "--quiet",
        "--set",
        &output,
        "--set",
        &root,
        "--set",
        &kind,
        "--set",
        "model.d_hidden=32",
        "--set",
        "model.n_layers=1",
        "--set",
        "model.d_ff=64",
        "--set",
        "data.context=32",
        "--set",
        "train.epochs=2",
        "--set",
        "train.max_steps_per_epoch=15",
        "--set",
        "train.warmup_steps=0",
        "--set",
        "train.lr=0.01",
    ]))
}

#[test]
fn language_models_train_and_learn() {
    for kind in ["transformer", "lstm"] {
        let dir = tiny_run(kind);
        for f in ["config.toml", "tokenizer.json", "metrics.csv", "metrics.json", "loss.svg", "checkpoints/best.bpk"] {
            assert!(dir.join(f).is_file(), "{kind}: {} lacks {f}", dir.display());
        }
        let m = metrics(&dir);
        assert_eq!(m["tokenizer.vocab_size"].as_u64(), Some(66), "65 characters and [UNK]");
        let loss = metric(&m, "valid.loss");
        assert!((metric(&m, "valid.perplexity") - loss.exp()).abs() < 1e-6);
        assert!(metric(&m, "train.best_valid_loss") < metric(&m, "train.initial_valid_loss") - 0.3, "{kind} learns");
        assert_eq!(m["train.steps"].as_u64(), Some(30));

        // `seqlab eval` reloads the checkpoint and the run's tokenizer and finds the same loss.
        let root = set_path("data.root", &external_data_root());
        let out = seqlab(&["eval", &dir.display().to_string(), "--set", &root]);
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{stderr}");
        let reported: f64 = stdout
            .split_whitespace()
            .nth(2)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no loss in {stdout}"));
        assert!((reported - loss).abs() < 1e-3, "{reported} vs {loss}");
    }
}

#[test]
fn text_input_errors_are_clear() {
    let dir = scratch("lm-bad");
    std::fs::write(dir.join("empty.txt"), "  \n").expect("write");
    let root = set_path("data.root", &dir);
    let out = seqlab(&[
        "run",
        "experiments/shakespeare_char.toml",
        "--set",
        &root,
        "--set",
        "data.path=\"empty.txt\"",
        "--set",
        "data.sha256=\"\"",
    ]);
    assert_clean_error(&out, &["empty.txt"]);
    // A forecasting task on text data is refused before anything runs.
    let out = seqlab(&["config", "show", "experiments/shakespeare_char.toml", "--set", "task.kind=\"forecast\""]);
    assert_clean_error(&out, &["task.kind", "text"]);
    // A recurrent language model must read left to right.
    let out = seqlab(&[
        "run",
        "experiments/shakespeare_char.toml",
        "--set",
        &set_path("data.root", &crate::util::external_data_root()),
        "--set",
        "model.kind=\"gru\"",
        "--set",
        "model.bidirectional=true",
        "--set",
        &set_path("experiment.output_dir", &dir),
    ]);
    assert_clean_error(&out, &["unidirectional"]);
}
