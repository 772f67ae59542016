//! Project automation, run as `cargo xtask <command>`.
//!
//! - `check-both`: what CI runs. No path that leaves the repository, format check, clippy with warnings denied for every feature
//!   combination, and the tests for `blocking` alone, `async` alone and both together, each a
//!   separate cargo run (so a feature that only compiles when unified with the other fails),
//!   then the integration cases again against a 3-master Redis Cluster and a master watched
//!   by 3 sentinels (`GW_TEST_TOPOLOGY`), the failover tests (masters killed under writes),
//!   and the `rediss://` test with `tls`.
//!   `gwstore` (the operator's command line) is tested with them, running its binary.
//! - `demo`: a blocking and an async component sharing one Redis, showing what each sees.
//! - `bench`: this layer against raw redis-rs, a bridge and redis-benchmark, side by side.

mod bench;
mod demo;
mod self_contained;

use std::process::{Command, ExitCode};

const USAGE: &str = "usage: cargo xtask <check-both | demo [--load-fixtures] | bench [--quick]>";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("check-both") => check_both(),
        Some("demo") => demo::run(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
        // The benchmark's second process; not for people.
        Some("bench-follower") => bench::follower_main(&args[1..]),
        _ => Err(USAGE.to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The feature sets CI proves: each alone, both together.
const FEATURE_SETS: [&str; 3] = ["blocking", "async", "blocking,async"];

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
    for features in FEATURE_SETS {
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
    cargo(&[
        "doc",
        "--no-deps",
        "-p",
        "storage",
        "--features",
        "blocking,async",
    ])?;
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
                "blocking,async",
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
