use super::*;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A fresh folder with `configs/` and `experiments/` inside.
fn scratch() -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("seqlab-config-test-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("configs")).expect("create scratch");
    std::fs::create_dir_all(dir.join("experiments")).expect("create scratch");
    dir
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write test file");
}

const MINIMAL: &str = "[data]\npath = \"x.csv\"\ntargets = [\"y\"]\n";

fn opts(overrides: &[&str]) -> LoadOptions {
    LoadOptions { config_dir: None, overrides: overrides.iter().map(|s| s.to_string()).collect(), use_env: false }
}

#[test]
fn layers_override_in_order() {
    let dir = scratch();
    write(&dir.join("configs/defaults.toml"), "[train]\nepochs = 5\nbatch_size = 8\nlr = 0.01\n");
    write(&dir.join("configs/gru.toml"), "[model]\nkind = \"gru\"\nd_hidden = 16\n[train]\nbatch_size = 16\n");
    let exp = dir.join("experiments/e.toml");
    write(&exp, &format!("include = [\"gru\"]\n{MINIMAL}[train]\nepochs = 7\n"));
    let r = load(&exp, &opts(&["model.d_hidden=24"])).expect("load");
    let c = &r.config;
    assert_eq!(c.train.lr, 0.01, "from configs/defaults.toml");
    assert_eq!(c.train.batch_size, 16, "preset overrides defaults.toml");
    assert_eq!(c.train.epochs, 7, "experiment overrides defaults.toml");
    assert_eq!(c.model.kind, ModelKind::Gru, "from the preset");
    assert_eq!(c.model.d_hidden, 24, "--set overrides the preset");
    assert_eq!(c.model.n_layers, 2, "built-in default");
    assert_eq!(r.files.len(), 3);

    let explain: BTreeMap<String, (String, String)> = r.explain().into_iter().map(|(k, v, o)| (k, (v, o))).collect();
    assert_eq!(explain["model.d_hidden"], ("24".into(), "--set model.d_hidden=24".into()));
    assert!(explain["model.kind"].1.ends_with("gru.toml"), "{:?}", explain["model.kind"]);
    assert!(explain["train.epochs"].1.ends_with("e.toml"), "{:?}", explain["train.epochs"]);
    assert!(explain["train.lr"].1.ends_with("defaults.toml"), "{:?}", explain["train.lr"]);
    assert_eq!(explain["model.n_layers"].1, "default");
}

#[test]
fn unknown_key_names_key_and_file() {
    let dir = scratch();
    let exp = dir.join("experiments/typo.toml");
    write(&exp, &format!("{MINIMAL}[train]\nepoch = 3\n"));
    let err = load(&exp, &opts(&[])).expect_err("unknown key").to_string();
    assert!(err.contains("epoch"), "{err}");
    assert!(err.contains("typo.toml"), "{err}");
}

#[test]
fn wrong_type_names_key_and_file() {
    let dir = scratch();
    let exp = dir.join("experiments/wrong.toml");
    write(&exp, &format!("{MINIMAL}[train]\nepochs = \"many\"\n"));
    let err = load(&exp, &opts(&[])).expect_err("wrong type").to_string();
    assert!(err.contains("train.epochs"), "{err}");
    assert!(err.contains("wrong.toml"), "{err}");
}

#[test]
fn unknown_model_kind_is_an_error() {
    let dir = scratch();
    let exp = dir.join("experiments/kind.toml");
    write(&exp, &format!("{MINIMAL}[model]\nkind = \"mamba\"\n"));
    let err = load(&exp, &opts(&[])).expect_err("unknown kind").to_string();
    assert!(err.contains("mamba") && err.contains("model.kind"), "{err}");
}

#[test]
fn override_errors_name_the_override() {
    let dir = scratch();
    let exp = dir.join("experiments/o.toml");
    write(&exp, MINIMAL);
    let err = load(&exp, &opts(&["train.bogus=1"])).expect_err("unknown key").to_string();
    assert!(err.contains("bogus") && err.contains("--set train.bogus=1"), "{err}");
    let err = load(&exp, &opts(&["no-equals-sign"])).expect_err("malformed").to_string();
    assert!(err.contains("no-equals-sign"), "{err}");
    // Bare words become strings, TOML values keep their type.
    let r = load(&exp, &opts(&["experiment.name=abc", "train.grad_clip=0.5", "data.covariates=[\"a\",\"b\"]"]))
        .expect("load");
    assert_eq!(r.config.experiment.name, "abc");
    assert_eq!(r.config.train.grad_clip, Some(0.5));
    assert_eq!(r.config.data.covariates, vec!["a".to_string(), "b".to_string()]);
}

#[test]
fn missing_files_are_named() {
    let dir = scratch();
    let err = load(&dir.join("experiments/nope.toml"), &opts(&[])).expect_err("missing").to_string();
    assert!(err.contains("nope.toml"), "{err}");
    let exp = dir.join("experiments/inc.toml");
    write(&exp, &format!("include = [\"no_such_preset\"]\n{MINIMAL}"));
    let err = load(&exp, &opts(&[])).expect_err("missing include").to_string();
    assert!(err.contains("no_such_preset.toml") && err.contains("inc.toml"), "{err}");
}

#[test]
fn syntax_errors_name_the_file() {
    let dir = scratch();
    let exp = dir.join("experiments/broken.toml");
    write(&exp, "[data\npath = 1\n");
    let err = load(&exp, &opts(&[])).expect_err("syntax").to_string();
    assert!(err.contains("broken.toml") && err.contains("not valid TOML"), "{err}");
}

#[test]
fn include_cycles_are_reported() {
    let dir = scratch();
    write(&dir.join("configs/a.toml"), "include = [\"b\"]\n");
    write(&dir.join("configs/b.toml"), "include = [\"a\"]\n");
    let exp = dir.join("experiments/c.toml");
    write(&exp, &format!("include = [\"a\"]\n{MINIMAL}"));
    let err = load(&exp, &opts(&[])).expect_err("cycle").to_string();
    assert!(err.contains("include cycle"), "{err}");
}

#[test]
fn environment_layer_sits_between_file_and_overrides() {
    let dir = scratch();
    let exp = dir.join("experiments/env.toml");
    write(&exp, &format!("{MINIMAL}[train]\neval_batch_size = 10\n"));
    // SAFETY-free: only this test reads SEQLAB_TRAIN__EVAL_BATCH_SIZE.
    unsafe_env_set("SEQLAB_TRAIN__EVAL_BATCH_SIZE", "77");
    let mut o = opts(&[]);
    o.use_env = true;
    let r = load(&exp, &o).expect("load");
    assert_eq!(r.config.train.eval_batch_size, 77);
    o.overrides = vec!["train.eval_batch_size=5".into()];
    let r = load(&exp, &o).expect("load");
    assert_eq!(r.config.train.eval_batch_size, 5);
}

#[allow(unsafe_code)]
fn unsafe_env_set(key: &str, value: &str) {
    // Edition 2024 marks set_var unsafe; tests in this crate touch no other variable.
    unsafe { std::env::set_var(key, value) };
}

#[test]
fn values_are_validated_with_their_key() {
    let dir = scratch();
    let exp = dir.join("experiments/v.toml");
    write(&exp, &format!("{MINIMAL}[model]\nkind = \"transformer\"\nd_hidden = 30\nn_heads = 4\n"));
    let err = load(&exp, &opts(&[])).expect_err("heads").to_string();
    assert!(err.contains("model.n_heads"), "{err}");
    write(&exp, "[data]\ntargets = [\"y\"]\n");
    let err = load(&exp, &opts(&[])).expect_err("path").to_string();
    assert!(err.contains("data.path"), "{err}");
}

#[test]
fn saved_config_round_trips() {
    let dir = scratch();
    let exp = dir.join("experiments/rt.toml");
    write(&exp, &format!("{MINIMAL}[data.split]\ntrain_rows = [0, 10]\nvalid_rows = [10, 20]\ntest_rows = [20, 30]\n"));
    let r = load(&exp, &opts(&["train.grad_clip=1.0"])).expect("load");
    let text = r.to_toml();
    let back = from_toml_str(&text, Path::new("config.toml")).expect("reparse");
    assert_eq!(back, r.config);
}
