//! Project automation, run as `cargo xtask <command>`.
//!
//! - `check-both`: what CI runs. No path that leaves the repository, format check, clippy with warnings denied for every feature
//!   combination, and the tests for `blocking` alone, `async` alone and both together with
//!   `metrics`, each a separate cargo run (so a feature that only compiles when unified with
//!   another fails),
//!   then the integration cases again against a 3-master Redis Cluster and a master watched
//!   by 3 sentinels (`GW_TEST_TOPOLOGY`), the failover tests (masters killed under writes),
//!   and the `rediss://` test with `tls`.
//!   `gwstore` (the operator's command line) is tested with them, running its binary.
//! - `demo`: a blocking and an async component sharing one Redis, showing what each sees;
//!   `--metrics` prints the storage's metrics as a Prometheus scrape sees them.
//! - `bench`: this layer against raw redis-rs, a bridge and redis-benchmark, side by side.

mod bench;
mod demo;
mod recorder;
mod self_contained;

use std::fmt;
use std::io::Write as _;
use std::process::{Command, ExitCode};

use clap::{Parser, Subcommand};

/// Project automation for the storage workspace.
#[derive(Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// What CI runs: self-containment, fmt, clippy per feature set, docs, every test suite.
    CheckBoth,
    /// A blocking and an async component sharing one Redis, showing what each sees.
    Demo {
        /// Load the existing deployment's records into `REDIS_URL` too (always done for the
        /// throwaway server).
        #[arg(long)]
        load_fixtures: bool,
        /// Install a Prometheus recorder first and print its text page after the work.
        #[arg(long)]
        metrics: bool,
    },
    /// This layer against raw redis-rs, a bridge and redis-benchmark, side by side.
    Bench {
        /// A reduced run, under a minute; it does not rewrite `docs/performance.md`.
        #[arg(long)]
        quick: bool,
        /// Exit with status 1 when any row misses its target.
        #[arg(long)]
        check: bool,
    },
    /// The benchmark's second process.
    #[command(hide = true)]
    BenchFollower {
        url: String,
        prefix: String,
        count: usize,
    },
    /// The benchmark's boot process: routes one lookup from a live configuration's file
    /// while Redis is down.
    #[command(hide = true)]
    BenchBoot {
        url: String,
        prefix: String,
        file: std::path::PathBuf,
    },
    /// The benchmark's metrics-cost contender: times `ops` blocking `get_proxy_target` calls.
    #[command(hide = true)]
    BenchGets {
        url: String,
        prefix: String,
        ops: usize,
        /// `none`, or `prometheus` to install a Prometheus recorder first.
        recorder: String,
    },
}

/// Why a task stopped early.
pub enum Stop {
    /// It failed; the message says why.
    Failed(String),
    /// Whoever read standard output went away (`cargo xtask demo | head -1`): not an error.
    ReaderGone,
}

impl From<String> for Stop {
    fn from(message: String) -> Self {
        Stop::Failed(message)
    }
}

impl From<&str> for Stop {
    fn from(message: &str) -> Self {
        Stop::Failed(message.to_owned())
    }
}

/// Prints one line, telling a closed pipe apart from a failure instead of panicking as
/// `println!` does.
pub fn say(line: impl fmt::Display) -> Result<(), Stop> {
    match writeln!(std::io::stdout().lock(), "{line}") {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Err(Stop::ReaderGone),
        Err(error) => Err(Stop::Failed(format!("standard output: {error}"))),
    }
}

fn main() -> ExitCode {
    // `cargo xtask` passes the task as the first argument; clap parses usage errors and
    // `--help` itself (exit 2 for an unknown flag).
    let result = match Cli::parse().task {
        Task::CheckBoth => check_both().map_err(Stop::from),
        Task::Demo {
            load_fixtures,
            metrics,
        } => demo::run(load_fixtures, metrics),
        Task::Bench { quick, check } => bench::run(quick, check),
        Task::BenchFollower { url, prefix, count } => {
            bench::follower_main(&url, &prefix, count).map_err(Stop::from)
        }
        Task::BenchBoot { url, prefix, file } => {
            bench::boot_main(&url, &prefix, &file).map_err(Stop::from)
        }
        Task::BenchGets {
            url,
            prefix,
            ops,
            recorder,
        } => bench::gets_main(&url, &prefix, ops, &recorder).map_err(Stop::from),
    };
    match result {
        Ok(()) | Err(Stop::ReaderGone) => ExitCode::SUCCESS,
        Err(Stop::Failed(message)) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The feature sets CI tests: each mode alone, and both together with `metrics` (the set a
/// flexible component with a recorder uses).
const FEATURE_SETS: [&str; 3] = ["blocking", "async", "blocking,async,metrics"];
/// What clippy also checks: both modes without `metrics`, so the feature stays additive.
const CLIPPY_ONLY: [&str; 1] = ["blocking,async"];
/// The set the integration cases run with against a cluster and Sentinel, and the docs are
/// built with: the last of [`FEATURE_SETS`], already compiled by then.
const ALL_MODES: &str = FEATURE_SETS[2];

fn check_both() -> Result<(), String> {
    self_contained::check()?;
    cargo(&["fmt", "--all", "--check"])?;
    cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ])?;
    cargo(&[
        "clippy",
        "-p",
        "storage",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ])?;
    cargo(&[
        "clippy",
        "-p",
        "xtask",
        "--no-default-features",
        "--",
        "-D",
        "warnings",
    ])?;
    for features in FEATURE_SETS.iter().chain(&CLIPPY_ONLY) {
        cargo(&[
            "clippy",
            "-p",
            "storage",
            "--all-targets",
            "--features",
            features,
            "--",
            "-D",
            "warnings",
        ])?;
    }
    // Broken doc links are errors too.
    std::env::set_var("RUSTDOCFLAGS", "-D warnings");
    cargo(&["doc", "--no-deps", "-p", "storage", "--features", ALL_MODES])?;
    cargo(&[
        "test",
        "-p",
        "storage-macros",
        "-p",
        "test-harness",
        "-p",
        "xtask",
        "-p",
        "gwstore",
    ])?;
    cargo(&["test", "-p", "storage", "--lib"])?;
    for features in FEATURE_SETS {
        cargo(&["test", "-p", "storage", "--features", features])?;
    }
    // The same integration cases against a 3-master cluster and a sentinel-watched master,
    // in both modes (the failover tests ran above, with both modes' features).
    for topology in ["cluster", "sentinel"] {
        cargo_env(
            &[
                "test",
                "-p",
                "storage",
                "--features",
                ALL_MODES,
                "--test",
                "integration",
            ],
            &[("GW_TEST_TOPOLOGY", topology)],
        )?;
    }
    // rediss:// against a TLS-only redis-server: its own run, since `tls` compiles rustls.
    let tls = ["-p", "storage", "--features", "blocking,async,tls"];
    cargo(
        &[
            &["clippy", "--all-targets"],
            &tls[..],
            &["--", "-D", "warnings"],
        ]
        .concat(),
    )?;
    cargo(&[&["test", "--test", "tls"], &tls[..]].concat())?;
    println!("check-both: all passed");
    Ok(())
}

fn cargo(args: &[&str]) -> Result<(), String> {
    cargo_env(args, &[])
}

fn cargo_env(args: &[&str], env: &[(&str, &str)]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    println!("\n$ cargo {}", args.join(" "));
    let status = Command::new(cargo)
        .args(args)
        .envs(env.iter().copied())
        .status()
        .map_err(|e| format!("could not run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`cargo {}` failed ({status})", args.join(" ")))
    }
}
