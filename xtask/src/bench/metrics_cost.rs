//! What the `metrics` feature costs `get_proxy_target`: the same blocking reads timed in
//! three processes, alternating round by round: this xtask built without the feature, this
//! xtask (with it) and no recorder, and this xtask with a Prometheus recorder installed.
//!
//! A feature is a build, so the baseline is a second build of this binary
//! (`--no-default-features`, in a target directory of its own so this one is not replaced
//! while it runs). Each process connects, warms up, then times only its reads.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use storage::{blocking, StorageConfig};

use super::measure::{alternate, Contender, Effort, Sample};
use super::report::Row;
use super::scenarios::{config, Bench};
use crate::recorder::PrometheusPage;

/// The rows, or a note on why there are none (this build lacks the feature).
pub fn metrics_cost(bench: &mut Bench<'_>) -> Result<(), String> {
    if !cfg!(feature = "metrics") {
        println!("metrics cost: skipped, this xtask was built without `metrics`");
        return Ok(());
    }
    let without = build_without_metrics()?;
    let with = std::env::current_exe().map_err(|e| format!("this binary: {e}"))?;
    let config = config(bench.url, "metrics")?;
    let prefix = config.key_space().prefix().to_owned();
    blocking::Storage::connect(config).map_err(|e| format!("connect: {e}"))?;
    let ops = bench.effort.ops;
    let contender = |binary: &Path, recorder: &'static str| {
        let (binary, url, prefix) = (binary.to_owned(), bench.url.to_owned(), prefix.clone());
        move || run_gets(&binary, &url, &prefix, ops, recorder).expect("bench-gets")
    };
    // A 2 % target needs a tighter median than the others' 10 %: three times the rounds.
    let effort = Effort {
        rounds: bench.effort.rounds * 3,
        ..bench.effort
    };
    let results = alternate(
        effort,
        vec![
            Contender::new("without the feature", contender(&without, "none")),
            Contender::new("feature, no recorder", contender(&with, "none")),
            Contender::new("feature, Prometheus", contender(&with, "prometheus")),
        ],
    );
    for (measured, at_least) in [(&results[1], 0.98), (&results[2], 0.95)] {
        let ratio = measured.ops_per_sec / results[0].ops_per_sec;
        bench.report.row(Row {
            scenario: format!(
                "get_proxy_target, blocking, 1 thread: metrics {}",
                measured.name
            ),
            ours: format!("{:.0} ops/s", measured.ops_per_sec),
            baseline: format!("{:.0} ops/s (without the feature)", results[0].ops_per_sec),
            ratio: Some(ratio),
            target: format!(">= {at_least}"),
            met: Some(ratio >= at_least),
        });
    }
    Ok(())
}

/// This binary built without its `metrics` feature, in a target directory of its own.
fn build_without_metrics() -> Result<PathBuf, String> {
    let target = super::target_dir().join("bench").join("without-metrics");
    crate::cargo(&[
        "build",
        "--quiet",
        "--release",
        "--package",
        "xtask",
        "--no-default-features",
        "--target-dir",
        &target.display().to_string(),
    ])?;
    Ok(target.join("release").join("xtask"))
}

/// One round: `binary bench-gets`, and the time it reports for its reads.
fn run_gets(
    binary: &Path,
    url: &str,
    prefix: &str,
    ops: usize,
    recorder: &str,
) -> Result<Sample, String> {
    let output = Command::new(binary)
        .args(["bench-gets", url, prefix, &ops.to_string(), recorder])
        .output()
        .map_err(|e| format!("{}: {e}", binary.display()))?;
    let text = String::from_utf8_lossy(&output.stdout);
    let nanos: u64 = text.trim().parse().map_err(|_| {
        format!(
            "bench-gets printed {text:?}; {}",
            String::from_utf8_lossy(&output.stderr)
        )
    })?;
    Ok(Sample {
        ops,
        elapsed: Duration::from_nanos(nanos),
    })
}

/// The contender process: connects, warms up, times `ops` reads and prints the nanoseconds.
pub fn gets_main(url: &str, prefix: &str, ops: usize, recorder: &str) -> Result<(), String> {
    let page = match recorder {
        "none" => None,
        "prometheus" => Some(PrometheusPage::install()?),
        other => return Err(format!("unknown recorder {other:?}")),
    };
    let config = StorageConfig::new(url)
        .map_err(|e| format!("url: {e}"))?
        .with_key_prefix(prefix)
        .with_defaults_check_interval(Duration::from_secs(3600));
    let storage = blocking::Storage::connect(config).map_err(|e| format!("connect: {e}"))?;
    let read = || {
        storage
            .get_proxy_target("localhost")
            .expect("get_proxy_target")
    };
    for _ in 0..ops / 10 {
        black_box(read());
    }
    let started = Instant::now();
    for _ in 0..ops {
        black_box(read());
    }
    let elapsed = started.elapsed();
    // The page exists until here, so the recorder was in use for every read.
    black_box(page.map(|page| page.render().len()));
    println!("{}", elapsed.as_nanos());
    Ok(())
}
