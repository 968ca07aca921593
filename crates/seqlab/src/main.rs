//! `seqlab`: train, inspect and evaluate sequence models from TOML experiments.

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use seqlab_config::{LoadOptions, Resolved};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Parser)]
#[command(name = "seqlab", version, about = "Deep learning on sequences: train, inspect and evaluate TOML experiments")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train an experiment, evaluate it against baselines and write a run folder.
    Run {
        /// Experiment file (TOML).
        experiment: PathBuf,
        #[command(flatten)]
        layers: Layers,
        /// Print only the result (no per-epoch log on stderr).
        #[arg(long, short)]
        quiet: bool,
    },
    /// Show a resolved experiment configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Evaluate a saved run's best checkpoint on its test split.
    Eval {
        /// Run folder (runs/<experiment>/<run id>).
        run_dir: PathBuf,
        /// Override keys of the saved config, e.g. data.root=/data.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print the resolved configuration as TOML.
    Show {
        /// Experiment file (TOML).
        experiment: PathBuf,
        #[command(flatten)]
        layers: Layers,
    },
    /// Print every key with its value and the layer it came from.
    Explain {
        /// Experiment file (TOML).
        experiment: PathBuf,
        #[command(flatten)]
        layers: Layers,
    },
}

#[derive(Args)]
struct Layers {
    /// Override a key, e.g. --set train.epochs=3 (repeatable; applied last).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Folder of defaults and presets (default: the nearest `configs/` above the experiment).
    #[arg(long, value_name = "DIR")]
    config_dir: Option<PathBuf>,
}

fn resolve(experiment: &Path, layers: &Layers) -> Result<Resolved> {
    let opts = LoadOptions { config_dir: layers.config_dir.clone(), overrides: layers.set.clone(), use_env: true };
    let mut resolved = seqlab_config::load(experiment, &opts)?;
    // The resolved config is complete: its includes are already applied.
    resolved.config.include.clear();
    Ok(resolved)
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Run { experiment, layers, quiet } => {
            let resolved = resolve(&experiment, &layers)?;
            // First Ctrl-C: finish the step, keep the checkpoints, evaluate and write the run
            // folder. Second Ctrl-C: exit at once.
            let stop = Arc::new(AtomicBool::new(false));
            let flag = stop.clone();
            let _ = ctrlc::set_handler(move || {
                if flag.swap(true, Ordering::SeqCst) {
                    std::process::exit(130);
                }
                eprintln!("\nstopping after this step (Ctrl-C again to abort)");
            });
            let opts = seqlab_train::RunOptions { quiet, stop: Some(stop) };
            let outcome = seqlab_train::run(&resolved.config, &resolved.to_toml(), &opts)?;
            println!("run folder: {}", outcome.run_dir.display());
            println!(
                "best epoch {} of {}, trained in {:.1}s, {}",
                outcome.best_epoch,
                outcome.epochs_run,
                outcome.train_seconds,
                outcome.summary.trim_end()
            );
        }
        Command::Config { command: ConfigCommand::Show { experiment, layers } } => {
            print!("{}", resolve(&experiment, &layers)?.to_toml());
        }
        Command::Config { command: ConfigCommand::Explain { experiment, layers } } => {
            let resolved = resolve(&experiment, &layers)?;
            println!(
                "# layers, lowest first: built-in defaults, {}, environment (SEQLAB_*), --set",
                resolved.files.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
            );
            let rows = resolved.explain();
            let width = rows.iter().map(|(k, v, _)| k.len() + v.len() + 3).max().unwrap_or(0);
            for (key, value, origin) in rows {
                let kv = format!("{key} = {value}");
                println!("{kv:<width$}  # {origin}");
            }
        }
        Command::Eval { run_dir, set } => {
            let config_path = run_dir.join("config.toml");
            if !config_path.is_file() {
                bail!("{} is not a run folder (no config.toml)", run_dir.display());
            }
            // The saved config is complete; only the environment and --set apply on top.
            let opts = LoadOptions { config_dir: Some(run_dir.clone()), overrides: set, use_env: true };
            let resolved = seqlab_config::load(&config_path, &opts)?;
            match resolved.config.task.kind {
                seqlab_config::TaskKind::Forecast => {
                    let eval = seqlab_train::eval_run(&run_dir, &resolved.config)
                        .with_context(|| format!("evaluating {}", run_dir.display()))?;
                    print!("{}", seqlab_train::summary_table(&eval));
                }
                seqlab_config::TaskKind::LanguageModel => {
                    let m = seqlab_train::language::eval_language_model(&run_dir, &resolved.config)
                        .with_context(|| format!("evaluating {}", run_dir.display()))?;
                    println!(
                        "valid loss {:.4} nats/token, perplexity {:.3}, {:.4} bits/token",
                        m.loss, m.perplexity, m.bits_per_token
                    );
                }
            }
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
