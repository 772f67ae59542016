//! The live configuration against Redis round trips: lookups per second, propagation from a
//! write's acknowledgement in this process to its visibility in another process's snapshot
//! (beside a raw `XREAD BLOCK` watcher in that same process), memory and build time.

use std::hint::black_box;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use storage::{asynchronous, blocking, ProxyTarget, Route};

use super::measure::{alternate, Contender};
use super::report::Row;
use super::scenarios::{config, Bench};

/// How many writes the propagation scenario times.
const PROBES: usize = 400;

fn err(context: &str) -> impl Fn(storage::Error) -> String + '_ {
    move |e| format!("{context}: {e}")
}

fn unix_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

pub fn live_config(bench: &mut Bench<'_>) -> Result<(), String> {
    lookups(bench)?;
    propagation(bench)?;
    build_and_memory(bench)?;
    last_known_good(bench)
}

/// Lookups on the snapshot against `get_proxy_target`, at 1 and 64 tasks.
fn lookups(bench: &mut Bench<'_>) -> Result<(), String> {
    let runtime = bench.runtime;
    let storage = runtime
        .block_on(asynchronous::Storage::connect(config(
            bench.url, "live-get",
        )?))
        .map_err(err("connect"))?;
    let live = std::sync::Arc::new(
        runtime
            .block_on(storage.live_config())
            .map_err(err("live_config"))?,
    );
    for tasks in [1usize, 64] {
        // The snapshot is so much faster that it gets more lookups per round, to be timed
        // over a similar span.
        let redis_per_task = (bench.effort.ops / tasks).max(1);
        let memory_per_task = redis_per_task * 200;
        let results = alternate(
            bench.effort,
            vec![
                Contender::timed("live snapshot", || {
                    runtime.block_on(async {
                        let handles: Vec<_> = (0..tasks)
                            .map(|_| {
                                let live = live.clone();
                                tokio::spawn(async move {
                                    for _ in 0..memory_per_task {
                                        black_box(live.read(|config| {
                                            config.proxy(black_box("localhost")).is_some()
                                        }));
                                    }
                                })
                            })
                            .collect();
                        for handle in handles {
                            handle.await.unwrap();
                        }
                    });
                    memory_per_task * tasks
                }),
                Contender::timed("get_proxy_target", || {
                    runtime.block_on(async {
                        let handles: Vec<_> = (0..tasks)
                            .map(|_| {
                                let storage = storage.clone();
                                tokio::spawn(async move {
                                    for _ in 0..redis_per_task {
                                        black_box(
                                            storage.get_proxy_target("localhost").await.unwrap(),
                                        );
                                    }
                                })
                            })
                            .collect();
                        for handle in handles {
                            handle.await.unwrap();
                        }
                    });
                    redis_per_task * tasks
                }),
            ],
        );
        let ratio = results[0].ops_per_sec / results[1].ops_per_sec;
        bench.report.row(Row {
            scenario: format!("proxy lookup, {tasks} task(s): live snapshot vs get_proxy_target"),
            ours: format!("{:.0} lookups/s", results[0].ops_per_sec),
            baseline: format!("{:.0} ops/s (get_proxy_target)", results[1].ops_per_sec),
            ratio: Some(ratio),
            target: ">= 100".into(),
            met: Some(ratio >= 100.0),
        });
    }
    Ok(())
}

/// Writes in this process, a follower process watching: milliseconds from each write's
/// acknowledgement to its visibility there, for the live snapshot and a raw watcher.
fn propagation(bench: &mut Bench<'_>) -> Result<(), String> {
    let config = config(bench.url, "live-prop")?;
    let prefix = config.key_space().prefix().to_owned();
    let storage = blocking::Storage::connect(config).map_err(err("connect"))?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = Command::new(exe)
        .args(["bench-follower", bench.url, &prefix, &PROBES.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("follower process: {e}"))?;
    let mut lines = BufReader::new(child.stdout.take().ok_or("no follower stdout")?).lines();
    // The follower says when its watchers are in place.
    match lines.next() {
        Some(Ok(line)) if line == "ready" => {}
        other => return Err(format!("follower did not start: {other:?}")),
    }
    // From the moment the write is sent: the other process may see it before this one has
    // the reply, so measuring from the reply would cut the fastest half to zero.
    let mut sent = Vec::with_capacity(PROBES);
    for n in 0..PROBES {
        sent.push(unix_nanos());
        storage
            .store_proxy_target(ProxyTarget::new(format!("probe-{n}.bench"), "http://b:1"))
            .map_err(err("probe write"))?;
        // About 1 kHz, as the measurements in docs/DESIGN.md were paced.
        std::thread::sleep(Duration::from_millis(1));
    }
    let mut live = vec![None; PROBES];
    let mut raw = vec![None; PROBES];
    for line in lines.map_while(Result::ok) {
        let mut parts = line.split_whitespace();
        let (Some(kind), Some(n), Some(at)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let (Ok(n), Ok(at)) = (n.parse::<usize>(), at.parse::<u128>()) else {
            continue;
        };
        let slot = match kind {
            "live" => live.get_mut(n),
            "raw" => raw.get_mut(n),
            _ => None,
        };
        if let Some(slot) = slot {
            *slot = Some(at);
        }
    }
    let _ = child.wait();
    let delays = |seen: &[Option<u128>]| -> Vec<f64> {
        let mut ms: Vec<f64> = seen
            .iter()
            .zip(&sent)
            .filter_map(|(seen, sent)| Some(seen.as_ref()?.checked_sub(*sent)? as f64 / 1e6))
            .collect();
        ms.sort_by(f64::total_cmp);
        ms
    };
    let (live, raw) = (delays(&live), delays(&raw));
    if live.len() < PROBES / 2 || raw.len() < PROBES / 2 {
        return Err(format!(
            "the follower saw too few probes (live {}, raw {})",
            live.len(),
            raw.len()
        ));
    }
    let pct = |v: &[f64], p: f64| v[((v.len() - 1) as f64 * p) as usize];
    let (live_p99, raw_p99) = (pct(&live, 0.99), pct(&raw, 0.99));
    bench.report.row(Row {
        scenario: format!(
            "propagation, write sent to another process's view, {} writes (p50; p99)",
            PROBES
        ),
        ours: format!(
            "{:.3} ms; {:.3} ms (live snapshot)",
            pct(&live, 0.5),
            live_p99
        ),
        baseline: format!(
            "{:.3} ms; {:.3} ms (raw XREAD BLOCK)",
            pct(&raw, 0.5),
            raw_p99
        ),
        ratio: Some(raw_p99 / live_p99),
        target: "p99 <= 1 ms and <= 3x raw; legacy: 300 s".into(),
        met: Some(live_p99 <= 1.0 && live_p99 <= 3.0 * raw_p99.max(0.05)),
    });
    Ok(())
}

/// Memory and time to build a snapshot of 10 000 routes.
fn build_and_memory(bench: &mut Bench<'_>) -> Result<(), String> {
    const ROUTES: usize = 10_000;
    let config = config(bench.url, "live-build")?;
    let storage = blocking::Storage::connect(config).map_err(err("connect"))?;
    for i in 0..ROUTES {
        let route = Route::to_url(
            format!("b{i}"),
            format!("/b/{i}"),
            (i % 900) as u16,
            "http://api:9000",
        );
        storage.store_route(route).map_err(err("store_route"))?;
    }
    storage.finish_migration().map_err(err("finish"))?;
    let routes = storage.list_all_routes().map_err(err("list"))?.records;
    let started = Instant::now();
    black_box(storage::ConfigSnapshot::new(0, Vec::new(), routes.clone()));
    let pure = started.elapsed();
    // Several kept alive at once, so allocator reuse does not hide their size.
    const COPIES: usize = 10;
    let before = resident_bytes();
    let snapshots: Vec<_> = (0..COPIES)
        .map(|_| storage::ConfigSnapshot::new(0, Vec::new(), routes.clone()))
        .collect();
    let after = resident_bytes();
    black_box(&snapshots);
    let started = Instant::now();
    let live = storage.live_config().map_err(err("live_config"))?;
    let whole = started.elapsed();
    black_box(live.revision());
    bench.report.row(Row {
        scenario: format!(
            "live snapshot of {ROUTES} routes: build time (from records; with the listing)"
        ),
        ours: format!(
            "{:.1} ms; {:.1} ms",
            pure.as_secs_f64() * 1e3,
            whole.as_secs_f64() * 1e3
        ),
        baseline: "-".into(),
        ratio: None,
        target: "report".into(),
        met: None,
    });
    bench.report.row(Row {
        scenario: format!("live snapshot of {ROUTES} routes: memory (resident set growth)"),
        ours: match (before, after) {
            (Some(b), Some(a)) => format!(
                "{:.1} MiB, records included (mean of {COPIES})",
                a.saturating_sub(b) as f64 / COPIES as f64 / (1 << 20) as f64
            ),
            _ => "unknown (no /proc/self/statm)".into(),
        },
        baseline: "-".into(),
        ratio: None,
        target: "report".into(),
        met: None,
    });
    Ok(())
}

fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// The follower process: a live configuration and a raw `XREAD BLOCK` watcher on the same
/// store, each printing `live|raw <probe> <unix nanos>` the moment it sees a probe.
pub fn follower_main(url: &str, prefix: &str, count: usize) -> Result<(), String> {
    let config = storage::StorageConfig::new(url)
        .map_err(err("url"))?
        .with_key_prefix(prefix);
    let stream = config.key_space().changes();
    let storage = blocking::Storage::connect(config).map_err(err("connect"))?;
    let live = storage.live_config().map_err(err("live_config"))?;
    let mut raw = redis::Client::open(url)
        .and_then(|c| c.get_connection())
        .map_err(|e| format!("raw watcher: {e}"))?;
    // From the revision now, read before "ready": no probe can come before it.
    let mut last = format!("{}-0", storage.revision().map_err(err("revision"))?);
    let deadline = Instant::now() + Duration::from_secs(60);
    let raw_watcher = std::thread::spawn(move || {
        let mut seen = 0;
        while seen < count && Instant::now() < deadline {
            let reply: Option<redis::streams::StreamReadReply> = match redis::cmd("XREAD")
                .arg("BLOCK")
                .arg(1000)
                .arg("STREAMS")
                .arg(&stream)
                .arg(&last)
                .query(&mut raw)
            {
                Ok(reply) => reply,
                Err(_) => return,
            };
            let Some(reply) = reply else { continue };
            let at = unix_nanos();
            for entry in reply.keys.into_iter().flat_map(|k| k.ids) {
                last = entry.id.clone();
                let id: Option<String> = entry.get("id");
                if let Some(n) = id.as_deref().and_then(probe_number) {
                    println!("raw {n} {at}");
                    seen += 1;
                }
            }
        }
    });
    println!("ready");
    let mut next = 0;
    while next < count && Instant::now() < deadline {
        let snapshot = live.snapshot();
        if snapshot.proxy(&format!("probe-{next}.bench")).is_some() {
            println!("live {next} {}", unix_nanos());
            next += 1;
        } else {
            std::hint::spin_loop();
            std::thread::yield_now();
        }
    }
    let _ = raw_watcher.join();
    Ok(())
}

fn probe_number(hostname: &str) -> Option<usize> {
    hostname
        .strip_prefix("probe-")?
        .strip_suffix(".bench")?
        .parse()
        .ok()
}

/// The last-known-good file of 10 000 routes: its size, the time to write it, and the time
/// from a process's start to its first routed lookup with Redis down, read from it. On a
/// throwaway server of its own, since it is stopped.
fn last_known_good(bench: &mut Bench<'_>) -> Result<(), String> {
    const ROUTES: usize = 10_000;
    let mut server = test_harness::RedisServer::try_start(Default::default())?;
    let file = super::target_dir()
        .join("bench")
        .join("live-config.snapshot");
    let config = config(&server.url(), "live-file")?.with_live_snapshot_file(&file);
    let prefix = config.key_prefix.clone();
    let storage = blocking::Storage::connect(config).map_err(err("connect"))?;
    for i in 0..ROUTES {
        let route = Route::to_url(format!("f{i}"), format!("/f/{i}"), 100, "http://api:9000");
        storage.store_route(route).map_err(err("store_route"))?;
    }
    let live = storage.live_config().map_err(err("live_config"))?;
    let mut writes: Vec<Duration> = (0..bench.effort.rounds)
        .map(|_| {
            let started = Instant::now();
            live.write_snapshot_file().map(|()| started.elapsed())
        })
        .collect::<Result<_, _>>()
        .map_err(err("write_snapshot_file"))?;
    writes.sort();
    let size = std::fs::metadata(&file)
        .map_err(|e| format!("{}: {e}", file.display()))?
        .len();
    drop(live);
    drop(storage);
    let url = server.url();
    server.stop();
    let mut boots: Vec<Duration> = (0..bench.effort.rounds)
        .map(|_| boot_from_file(&url, &prefix, &file))
        .collect::<Result<_, _>>()?;
    boots.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    bench.report.row(Row {
        scenario: format!("last-known-good file of {ROUTES} routes: size; time to write it"),
        ours: format!(
            "{:.1} MiB; {:.1} ms",
            size as f64 / (1 << 20) as f64,
            ms(writes[writes.len() / 2])
        ),
        baseline: "-".into(),
        ratio: None,
        target: "report".into(),
        met: None,
    });
    bench.report.row(Row {
        scenario: format!("process start to first routed lookup, Redis down, {ROUTES}-route file"),
        ours: format!(
            "{:.1} ms (median of {})",
            ms(boots[boots.len() / 2]),
            boots.len()
        ),
        baseline: "-".into(),
        ratio: None,
        target: "report".into(),
        met: None,
    });
    let _ = std::fs::remove_file(&file);
    Ok(())
}

/// One `xtask bench-boot` process: the time from its spawn to its line saying it routed.
fn boot_from_file(url: &str, prefix: &str, file: &std::path::Path) -> Result<Duration, String> {
    let binary = std::env::current_exe().map_err(|e| format!("this binary: {e}"))?;
    let started = Instant::now();
    let mut child = Command::new(binary)
        .arg("bench-boot")
        .args([url, prefix])
        .arg(file)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("bench-boot: {e}"))?;
    let mut line = String::new();
    let stdout = child.stdout.take().ok_or("bench-boot: no stdout")?;
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| format!("bench-boot: {e}"))?;
    let elapsed = started.elapsed();
    let status = child.wait().map_err(|e| format!("bench-boot: {e}"))?;
    if !status.success() || line.trim() != "routed" {
        return Err(format!("bench-boot: {status}, printed {line:?}"));
    }
    Ok(elapsed)
}

/// The boot process: a storage whose Redis is down routes one request from its file.
pub fn boot_main(url: &str, prefix: &str, file: &std::path::Path) -> Result<(), String> {
    let config = storage::StorageConfig::new(url)
        .map_err(err("url"))?
        .with_key_prefix(prefix)
        .with_live_snapshot_file(file);
    let storage = blocking::Storage::new(config).map_err(err("storage"))?;
    let live = storage.live_config().map_err(err("live_config"))?;
    let routed = live.read(|c| c.route_for("any.example", "/f/9999").is_some());
    if !routed {
        return Err("the file's route was not found".into());
    }
    println!("routed");
    Ok(())
}
