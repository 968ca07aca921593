//! Helpers shared by the end-to-end tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The project root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("project root")
}

/// The data root with ETTh1: `SEQLAB_DATA_ROOT`, else `../shared/datasets` beside the project.
pub fn external_data_root() -> PathBuf {
    if let Ok(dir) = std::env::var("SEQLAB_DATA_ROOT") {
        return PathBuf::from(dir);
    }
    let shared = root().join("../shared/datasets");
    assert!(
        shared.join("ett/ETTh1.csv").is_file(),
        "ETTh1 not found: set SEQLAB_DATA_ROOT to a folder holding ett/ETTh1.csv (see README.md)"
    );
    shared
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A fresh scratch folder.
pub fn scratch(name: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("seqlab-e2e-{}-{name}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// A `--set` value that puts a path into a string key, e.g. `experiment.output_dir="/tmp/x"`.
pub fn set_path(key: &str, path: &Path) -> String {
    format!("{key}={:?}", path.display().to_string())
}

/// Run the seqlab binary from the project root with a clean `SEQLAB_` environment.
pub fn seqlab(args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_seqlab"));
    cmd.current_dir(root()).args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("SEQLAB_") {
            cmd.env_remove(k);
        }
    }
    cmd.output().expect("run seqlab")
}

/// Stdout and stderr as text.
pub fn text(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Assert a clean failure: non-zero exit, no panic, and stderr mentioning every needle.
pub fn assert_clean_error(out: &Output, needles: &[&str]) {
    let (stdout, stderr) = text(out);
    assert!(!out.status.success(), "expected failure\nstdout: {stdout}\nstderr: {stderr}");
    assert!(!stderr.contains("panicked"), "panic instead of an error: {stderr}");
    for n in needles {
        assert!(stderr.contains(n), "stderr lacks `{n}`: {stderr}");
    }
}

/// The run folder printed by `seqlab run`.
pub fn run_dir(out: &Output) -> PathBuf {
    let (stdout, stderr) = text(out);
    assert!(out.status.success(), "run failed\nstdout: {stdout}\nstderr: {stderr}");
    let line = stdout.lines().find_map(|l| l.strip_prefix("run folder: ")).expect("run folder line");
    let p = PathBuf::from(line.trim());
    if p.is_absolute() { p } else { root().join(p) }
}

/// `metrics.json` of a run.
pub fn metrics(dir: &Path) -> serde_json::Map<String, serde_json::Value> {
    let text = std::fs::read_to_string(dir.join("metrics.json")).expect("metrics.json");
    match serde_json::from_str(&text).expect("valid JSON") {
        serde_json::Value::Object(m) => m,
        other => panic!("metrics.json is not an object: {other}"),
    }
}

/// A metric as f64.
pub fn metric(m: &serde_json::Map<String, serde_json::Value>, key: &str) -> f64 {
    m.get(key).and_then(|v| v.as_f64()).unwrap_or_else(|| panic!("metric `{key}` missing"))
}
