//! `cargo xtask bench [--quick] [--check]`: what this layer costs over Redis itself,
//! measured side by side in one run, with round trips counted by Redis (`MONITOR`), not by
//! the code; and the same operations on a local Redis Cluster and through Sentinel beside
//! one server.
//!
//! Starts a throwaway `redis-server` (or uses `REDIS_URL`), writes `report.md` and
//! `list_routes.svg` under cargo's target directory (`bench/`), a full run also
//! `docs/performance.md`, and prints the table; `--check` exits 1 when a target is missed.
//! Always runs an optimized build: a debug build re-runs itself with `--release`.

mod backups;
mod history;
mod live;
mod measure;
mod metrics_cost;
mod report;
mod round_trips;
mod scenarios;
mod topologies;

use std::path::PathBuf;

use measure::Effort;
use report::Report;
use scenarios::Bench;
use test_harness::RedisServer;

use crate::{say, Stop};

pub use live::{boot_main, follower_main};
pub use metrics_cost::gets_main;

pub fn run(quick: bool, check: bool) -> Result<(), Stop> {
    if cfg!(debug_assertions) {
        return Ok(rerun_optimized(quick, check)?);
    }
    let (url, server) = match std::env::var("REDIS_URL") {
        Ok(url) => (url, None),
        Err(_) => {
            let server = RedisServer::try_start(Default::default())?;
            (server.url(), Some(server))
        }
    };
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores)
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    let mut report = Report::default();
    describe_environment(&mut report, &url, cores, quick)?;
    println!(
        "benchmarking against {url} ({})",
        if quick { "quick" } else { "full" }
    );
    let mut bench = Bench {
        url: &url,
        effort: Effort::new(quick),
        runtime: &runtime,
        report: &mut report,
    };
    scenarios::initialize(&mut bench)?;
    scenarios::blocking_gets(&mut bench)?;
    scenarios::async_gets(&mut bench)?;
    metrics_cost::metrics_cost(&mut bench)?;
    scenarios::bridge(&mut bench)?;
    scenarios::concurrent_updates(&mut bench)?;
    history::history(&mut bench)?;
    scenarios::certificates(&mut bench)?;
    scenarios::oauth(&mut bench)?;
    let sizes: &[usize] = if quick {
        &[100, 1_000]
    } else {
        &[100, 1_000, 10_000]
    };
    scenarios::list_routes(&mut bench, sizes)?;
    let migration_sizes: &[usize] = if quick { &[1_000] } else { &[1_000, 10_000] };
    scenarios::migration_listings(&mut bench, migration_sizes)?;
    backups::backups(&mut bench, quick)?;
    live::live_config(&mut bench)?;
    topologies::topologies(&mut bench)?;

    let dir = target_dir().join("bench");
    report.write(&dir)?;
    say(format_args!("\n{}", report.markdown()))?;
    say(format_args!(
        "written to {}",
        dir.join("report.md").display()
    ))?;
    if !quick {
        let page = workspace().join("docs/performance.md");
        report.write_page(&page)?;
        say(format_args!("and to {}", page.display()))?;
    }
    if server.is_none() {
        scenarios::remove_bench_keys(&url)?;
    }
    let missed = report.missed();
    if check && !missed.is_empty() {
        return Err(format!("{} target(s) missed: {}", missed.len(), missed.join("; ")).into());
    }
    Ok(())
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Cargo's target directory: `CARGO_TARGET_DIR` when set (relative to where cargo runs, as
/// cargo reads it), else the workspace's `target/`.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"))
}

fn describe_environment(
    report: &mut Report,
    url: &str,
    cores: usize,
    quick: bool,
) -> Result<(), String> {
    let mut connection = redis::Client::open(url)
        .and_then(|c| c.get_connection())
        .map_err(|e| format!("connect {url}: {e}"))?;
    let info: String = redis::cmd("INFO")
        .arg("server")
        .query(&mut connection)
        .map_err(|e| format!("INFO: {e}"))?;
    let version = info
        .lines()
        .find_map(|line| line.strip_prefix("redis_version:"))
        .unwrap_or("unknown")
        .trim()
        .to_owned();
    let localhost = storage::DEFAULT_PROXIES[0].to_proxy_target();
    let payload = serde_json::to_vec(&localhost)
        .map_err(|e| e.to_string())?
        .len();
    let route = serde_json::to_vec(&storage::DEFAULT_ROUTES[0].to_route())
        .map_err(|e| e.to_string())?
        .len();
    report.environment = vec![
        (
            "machine".into(),
            format!("{cores} cores ({})", std::env::consts::ARCH),
        ),
        ("redis-server".into(), version),
        (
            "payload".into(),
            format!("localhost proxy record {payload} B; route record ~{route} B"),
        ),
        ("mode".into(), if quick { "--quick" } else { "full" }.into()),
    ];
    Ok(())
}

fn rerun_optimized(quick: bool, check: bool) -> Result<(), String> {
    let mut cargo_args = vec![
        "run",
        "--quiet",
        "--release",
        "--package",
        "xtask",
        "--",
        "bench",
    ];
    cargo_args.extend(quick.then_some("--quick"));
    cargo_args.extend(check.then_some("--check"));
    crate::cargo(&cargo_args)
}
