//! Project tasks: `cargo xtask run EXPERIMENT.toml [--set key=value ...]`.
//!
//! Kept free of dependencies so it compiles in a second.

use std::process::{Command, ExitCode};

const USAGE: &str = "usage: cargo xtask run EXPERIMENT.toml [--set key=value ...] [--quiet]
  run    build seqlab in release mode and train the experiment";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((task, rest)) = args.split_first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    match task.as_str() {
        "run" => {
            if rest.is_empty() {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let status = Command::new(cargo)
                .args(["run", "--release", "--quiet", "--package", "seqlab", "--", "run"])
                .args(rest)
                .status();
            match status {
                Ok(s) if s.success() => ExitCode::SUCCESS,
                Ok(s) => ExitCode::from(s.code().unwrap_or(1).clamp(1, 255) as u8),
                Err(e) => {
                    eprintln!("xtask: cannot run cargo: {e}");
                    ExitCode::from(1)
                }
            }
        }
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        other => {
            eprintln!("xtask: unknown task `{other}`\n{USAGE}");
            ExitCode::from(2)
        }
    }
}
