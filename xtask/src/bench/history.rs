//! What the configuration's history costs: `store_proxy_target` with it on (the default
//! retention) against the same writes with it off, alternating round by round; a read with
//! it on against off (reads never touch it); and the Redis memory 10 000 changes take.

use std::hint::black_box;

use storage::{blocking, ProxyTarget};

use super::measure::{alternate, Contender};
use super::report::Row;
use super::scenarios::{config, err, ratio_row, raw_connection, redis_err, Bench};

/// Hostnames the writes cycle through: the history grows, the store does not.
const HOSTS: usize = 100;

/// A proxy record of a realistic size: the default `localhost`'s fields on another host.
fn proxy(round: usize) -> ProxyTarget {
    let mut proxy = ProxyTarget::new(format!("h{}.example", round % HOSTS), "http://backend:8080");
    proxy.auth_enabled = true;
    proxy.auth_excluded_paths = Some(vec!["/health".into(), "/metrics".into()]);
    proxy.auth_required_users = Some(vec!["alice".into(), "bob".into()]);
    proxy
}

pub fn history(bench: &mut Bench<'_>) -> Result<(), String> {
    let on =
        blocking::Storage::connect(config(bench.url, "history-on")?).map_err(err("connect"))?;
    let off = blocking::Storage::connect(config(bench.url, "history-off")?.without_history())
        .map_err(err("connect"))?;
    let ops = bench.effort.ops;
    let results = alternate(
        bench.effort,
        vec![
            Contender::timed("history on", || {
                for round in 0..ops {
                    on.store_proxy_target(proxy(round)).unwrap();
                }
                ops
            }),
            Contender::timed("history off", || {
                for round in 0..ops {
                    off.store_proxy_target(proxy(round)).unwrap();
                }
                ops
            }),
        ],
    );
    let scenario = "store_proxy_target, blocking, 1 thread: history on (default retention)";
    ratio_row(bench.report, scenario, &results[0], &results[1], 0.9);

    let results = alternate(
        bench.effort,
        vec![
            Contender::timed("history on", || {
                for _ in 0..ops {
                    black_box(on.get_proxy_target("h1.example").unwrap());
                }
                ops
            }),
            Contender::timed("history off", || {
                for _ in 0..ops {
                    black_box(off.get_proxy_target("h1.example").unwrap());
                }
                ops
            }),
        ],
    );
    let scenario = "get_proxy_target, blocking, 1 thread: history on";
    ratio_row(bench.report, scenario, &results[0], &results[1], 0.98);

    memory(bench)
}

/// The bytes 10 000 changes of one proxy record take in Redis: the history stream, by
/// `MEMORY USAGE` (every element counted).
fn memory(bench: &mut Bench<'_>) -> Result<(), String> {
    const CHANGES: usize = 10_000;
    let config = config(bench.url, "history-memory")?
        .with_history_retention(CHANGES, std::time::Duration::from_secs(86_400));
    let keys = config.key_space();
    let storage = blocking::Storage::connect(config).map_err(err("connect"))?;
    let mut raw = raw_connection(bench.url)?;
    let usage = |raw: &mut redis::Connection, key: String| -> Result<u64, String> {
        redis::cmd("MEMORY")
            .arg("USAGE")
            .arg(key)
            .arg("SAMPLES")
            .arg(0)
            .query::<Option<u64>>(raw)
            .map(Option::unwrap_or_default)
            .map_err(redis_err("MEMORY USAGE"))
    };
    let before = usage(&mut raw, keys.history())?;
    let mut record_bytes = 0;
    for round in 0..CHANGES {
        let stored = storage
            .store_proxy_target(proxy(round))
            .map_err(err("store"))?;
        record_bytes = serde_json::to_string(&stored).map_or(0, |json| json.len());
    }
    let after = usage(&mut raw, keys.history())?;
    let bytes = after.saturating_sub(before);
    bench.report.row(Row {
        scenario: format!(
            "history: Redis memory per {CHANGES} changes of a {record_bytes}-byte proxy record"
        ),
        ours: format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0)),
        baseline: format!("{:.0} bytes per change", bytes as f64 / CHANGES as f64),
        ratio: None,
        target: "stated".to_owned(),
        met: None,
    });
    Ok(())
}
