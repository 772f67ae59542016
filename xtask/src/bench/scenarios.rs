//! The scenarios, each with its baseline, measured side by side in one run.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use storage::{asynchronous, blocking, ProxyTarget, Route, StorageConfig};
use tokio::runtime::Runtime;

use super::measure::{alternate, timed, Contender, Effort, Measured, Sample};
use super::report::{Report, Row, ScalingPoint};
use super::round_trips::RoundTrips;

/// Everything a scenario needs.
pub struct Bench<'a> {
    pub url: &'a str,
    pub effort: Effort,
    pub runtime: &'a Runtime,
    pub report: &'a mut Report,
}

pub(super) fn err(context: &str) -> impl Fn(storage::Error) -> String + '_ {
    move |e| format!("{context}: {e}")
}

pub(super) fn redis_err(context: &str) -> impl Fn(redis::RedisError) -> String + '_ {
    move |e| format!("{context}: {e}")
}

static NEXT_PREFIX: AtomicUsize = AtomicUsize::new(0);

/// A configuration under a key prefix no other scenario uses.
pub fn config(url: &str, name: &str) -> Result<StorageConfig, String> {
    let n = NEXT_PREFIX.fetch_add(1, Ordering::Relaxed);
    Ok(StorageConfig::new(url)
        .map_err(err("config"))?
        .with_key_prefix(format!("{{bench-{name}-{n}}}:"))
        .with_pool_size(16)
        // The once-a-second check of the defaults would land in a counted call now and
        // then; round-trip counts are about the operation itself.
        .with_defaults_check_interval(Duration::from_secs(3600)))
}

pub(super) fn raw_connection(url: &str) -> Result<redis::Connection, String> {
    redis::Client::open(url)
        .and_then(|c| c.get_connection())
        .map_err(redis_err("raw connection"))
}

fn rate(m: &Measured) -> String {
    format!("{:.0} ops/s", m.ops_per_sec)
}

pub(super) fn ratio_row(
    report: &mut Report,
    scenario: &str,
    ours: &Measured,
    base: &Measured,
    at_least: f64,
) {
    let ratio = ours.ops_per_sec / base.ops_per_sec;
    report.row(Row {
        scenario: scenario.to_owned(),
        ours: rate(ours),
        baseline: format!("{} ({})", rate(base), base.name),
        ratio: Some(ratio),
        target: format!(">= {at_least}"),
        met: Some(ratio >= at_least),
    });
}

/// The raw baseline's read: GET and the same serde decode, without validation.
fn raw_get(connection: &mut redis::Connection, key: &str) -> ProxyTarget {
    let bytes: Vec<u8> = redis::cmd("GET")
        .arg(key)
        .query(connection)
        .expect("raw GET");
    serde_json::from_slice(&bytes).expect("raw decode")
}

/// `get_proxy_target("localhost")`, blocking, on 1 and 8 threads, against raw redis-rs.
pub fn blocking_gets(bench: &mut Bench<'_>) -> Result<(), String> {
    let config = config(bench.url, "get")?;
    let key = config.key_space().proxy("localhost");
    let storage = blocking::Storage::connect(config).map_err(err("connect"))?;
    let ops = bench.effort.ops;
    for threads in [1usize, 8] {
        let mut raws = (0..threads)
            .map(|_| raw_connection(bench.url))
            .collect::<Result<Vec<_>, _>>()?;
        let per_thread = ops / threads;
        let results = alternate(
            bench.effort,
            vec![
                Contender::timed("storage", || {
                    std::thread::scope(|scope| {
                        for _ in 0..threads {
                            scope.spawn(|| {
                                for _ in 0..per_thread {
                                    black_box(storage.get_proxy_target("localhost").unwrap());
                                }
                            });
                        }
                    });
                    per_thread * threads
                }),
                Contender::timed("raw redis-rs", || {
                    std::thread::scope(|scope| {
                        for raw in raws.iter_mut() {
                            let key = &key;
                            scope.spawn(move || {
                                for _ in 0..per_thread {
                                    black_box(raw_get(raw, key));
                                }
                            });
                        }
                    });
                    per_thread * threads
                }),
            ],
        );
        let scenario = format!("get_proxy_target, blocking, {threads} thread(s)");
        ratio_row(bench.report, &scenario, &results[0], &results[1], 0.9);
    }
    Ok(())
}

/// The same read, async, on 1 and 64 tasks, against a raw multiplexed connection and, at 64,
/// against `redis-benchmark` GETting the same record.
pub fn async_gets(bench: &mut Bench<'_>) -> Result<(), String> {
    let config = config(bench.url, "aget")?;
    let key = config.key_space().proxy("localhost");
    let runtime = bench.runtime;
    let storage = runtime
        .block_on(asynchronous::Storage::connect(config))
        .map_err(err("connect"))?;
    let raw = runtime
        .block_on(async {
            redis::Client::open(bench.url)?
                .get_multiplexed_async_connection()
                .await
        })
        .map_err(redis_err("multiplexed connection"))?;
    let ops = bench.effort.ops;
    for tasks in [1usize, 64] {
        let per_task = ops / tasks;
        let mut contenders = vec![
            Contender::timed("storage", || {
                runtime.block_on(async {
                    let handles: Vec<_> = (0..tasks)
                        .map(|_| {
                            let storage = storage.clone();
                            tokio::spawn(async move {
                                for _ in 0..per_task {
                                    black_box(storage.get_proxy_target("localhost").await.unwrap());
                                }
                            })
                        })
                        .collect();
                    for handle in handles {
                        handle.await.unwrap();
                    }
                });
                per_task * tasks
            }),
            Contender::timed("raw redis-rs multiplexed", || {
                runtime.block_on(async {
                    let handles: Vec<_> = (0..tasks)
                        .map(|_| {
                            let (mut raw, key) = (raw.clone(), key.clone());
                            tokio::spawn(async move {
                                for _ in 0..per_task {
                                    let bytes: Vec<u8> = redis::cmd("GET")
                                        .arg(&key)
                                        .query_async(&mut raw)
                                        .await
                                        .unwrap();
                                    let proxy: ProxyTarget =
                                        serde_json::from_slice(&bytes).unwrap();
                                    black_box(proxy);
                                }
                            })
                        })
                        .collect();
                    for handle in handles {
                        handle.await.unwrap();
                    }
                });
                per_task * tasks
            }),
        ];
        let benchmark_tool = which("redis-benchmark");
        if tasks == 64 {
            if let Some(tool) = &benchmark_tool {
                let (tool, url, key) = (tool.clone(), bench.url, key.clone());
                // Its rate is its own measurement; too few requests make it coarse.
                let requests = ops.max(50_000);
                contenders.push(Contender::new("redis-benchmark", move || {
                    redis_benchmark(&tool, url, &key, tasks, requests).expect("redis-benchmark")
                }));
            }
        }
        let results = alternate(bench.effort, contenders);
        let scenario = format!("get_proxy_target, async, {tasks} task(s)");
        ratio_row(bench.report, &scenario, &results[0], &results[1], 0.9);
        if let Some(ceiling) = results.get(2) {
            let scenario = format!("get_proxy_target, async, {tasks} tasks vs server ceiling");
            ratio_row(bench.report, &scenario, &results[0], ceiling, 0.6);
        } else if tasks == 64 {
            bench
                .report
                .notes
                .push("redis-benchmark not found: the server-ceiling row was skipped".into());
        }
    }
    Ok(())
}

pub(super) fn which(binary: &str) -> Option<String> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join(binary))
        .find(|candidate| candidate.is_file())
        .map(|path| path.display().to_string())
}

/// `redis-benchmark` GETting `key` with `clients` connections; its own requests per second.
fn redis_benchmark(
    tool: &str,
    url: &str,
    key: &str,
    clients: usize,
    requests: usize,
) -> Result<Sample, String> {
    let info = redis::Client::open(url).map_err(redis_err("url"))?;
    let address = info.get_connection_info().addr().to_string();
    let (host, port) = address
        .rsplit_once(':')
        .ok_or_else(|| format!("cannot split {address} into host and port"))?;
    let output = Command::new(tool)
        .args(["-h", host, "-p", port, "-c", &clients.to_string()])
        .args(["-n", &requests.to_string(), "--csv", "GET", key])
        .output()
        .map_err(|e| format!("{tool}: {e}"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    let rps: f64 = text
        .lines()
        .filter(|line| line.starts_with("\"GET"))
        .find_map(|line| line.split(',').nth(1)?.trim_matches('"').parse().ok())
        .ok_or_else(|| format!("no GET rate in redis-benchmark output: {text}"))?;
    Ok(Sample {
        ops: requests,
        elapsed: Duration::from_secs_f64(requests as f64 / rps),
    })
}

/// The async storage driven from blocking code through `block_on` (what an async-to-blocking
/// bridge does) against the generated blocking API, on 1 and 8 threads.
pub fn bridge(bench: &mut Bench<'_>) -> Result<(), String> {
    let config = config(bench.url, "bridge")?;
    let runtime = bench.runtime;
    let bridged = runtime
        .block_on(asynchronous::Storage::connect(config.clone()))
        .map_err(err("connect"))?;
    let generated = blocking::Storage::connect(config).map_err(err("connect"))?;
    for threads in [1usize, 8] {
        let per_thread = bench.effort.ops / threads;
        let results = alternate(
            bench.effort,
            vec![
                Contender::timed("generated blocking API", || {
                    std::thread::scope(|scope| {
                        for _ in 0..threads {
                            scope.spawn(|| {
                                for _ in 0..per_thread {
                                    black_box(generated.get_proxy_target("localhost").unwrap());
                                }
                            });
                        }
                    });
                    per_thread * threads
                }),
                Contender::timed("async API via block_on", || {
                    std::thread::scope(|scope| {
                        for _ in 0..threads {
                            scope.spawn(|| {
                                for _ in 0..per_thread {
                                    let get = bridged.get_proxy_target("localhost");
                                    black_box(runtime.handle().block_on(get).unwrap());
                                }
                            });
                        }
                    });
                    per_thread * threads
                }),
            ],
        );
        let scenario = format!("blocking callers, {threads} thread(s): generated vs bridge");
        let ratio = results[0].ops_per_sec / results[1].ops_per_sec;
        bench.report.row(Row {
            scenario,
            ours: rate(&results[0]),
            baseline: format!("{} ({})", rate(&results[1]), results[1].name),
            ratio: Some(ratio),
            target: "report".into(),
            met: None,
        });
    }
    Ok(())
}

/// `initialize` on an up-to-date store and on an empty one: time and round trips.
pub fn initialize(bench: &mut Bench<'_>) -> Result<(), String> {
    let url = bench.url;
    let settled = config(url, "init")?;
    blocking::Storage::connect(settled.clone()).map_err(err("seed"))?;
    let fresh_instance = |config: StorageConfig| -> Result<blocking::Storage, String> {
        let storage = blocking::Storage::new(config).map_err(err("new"))?;
        // Open the connection first: initialization is what is measured.
        storage.health_check().map_err(err("health_check"))?;
        Ok(storage)
    };
    let results = alternate(
        bench.effort,
        vec![
            Contender::new("up to date", || {
                let storage = fresh_instance(settled.clone()).unwrap();
                timed(|| {
                    storage.initialize().unwrap();
                    1
                })
            }),
            Contender::new("empty", || {
                let storage = fresh_instance(config(url, "init-empty").unwrap()).unwrap();
                timed(|| {
                    storage.initialize().unwrap();
                    1
                })
            }),
        ],
    );

    let count = |config: StorageConfig| -> Result<u64, String> {
        let storage = fresh_instance(config)?;
        let counter = RoundTrips::start(url)?;
        storage.initialize().map_err(err("initialize"))?;
        counter.finish()
    };
    let up_to_date_trips = count(settled)?;
    let empty_trips = count(config(url, "init-count")?)?;
    bench.report.row(Row {
        scenario: "initialize, up-to-date store".into(),
        ours: format!("{:.3} ms", ms(results[0].round_time)),
        baseline: format!("{up_to_date_trips} round trip(s)"),
        ratio: None,
        target: "<= 2 round trips".into(),
        met: Some(up_to_date_trips <= 2),
    });
    bench.report.row(Row {
        scenario: "initialize, empty store".into(),
        ours: format!("{:.3} ms", ms(results[1].round_time)),
        baseline: format!("{empty_trips} round trip(s)"),
        ratio: None,
        target: "report".into(),
        met: None,
    });
    Ok(())
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

/// `list_routes` with N routes against a raw MGET of the same keys: time and round trips.
pub fn list_routes(bench: &mut Bench<'_>, sizes: &[usize]) -> Result<(), String> {
    let mut trips = Vec::new();
    for &size in sizes {
        let config = config(bench.url, &format!("routes-{size}"))?;
        let keys = config.key_space();
        let storage = blocking::Storage::connect(config).map_err(err("connect"))?;
        for i in 0..size {
            let route = Route::to_url(
                format!("r{i}"),
                format!("/r/{i}"),
                (i % 900) as u16,
                "http://api:9000",
            );
            storage.store_route(route).map_err(err("store_route"))?;
        }
        // The index alone: what a store reads once its migration is finished (see
        // `migration_listings` for the mixed phase).
        storage
            .finish_migration()
            .map_err(err("finish_migration"))?;
        let ids: Vec<String> = storage
            .list_all_routes()
            .map_err(err("list"))?
            .records
            .into_iter()
            .map(|r| r.route_id)
            .collect();
        let route_keys: Vec<String> = ids.iter().map(|id| keys.route(id)).collect();
        let mut raw = raw_connection(bench.url)?;
        let raw_list = |raw: &mut redis::Connection| -> usize {
            let values: Vec<Vec<u8>> = redis::pipe()
                .cmd("MGET")
                .arg(&route_keys)
                .query::<(Vec<Vec<u8>>,)>(raw)
                .unwrap()
                .0;
            let mut routes: Vec<Route> = values
                .iter()
                .map(|v| serde_json::from_slice(v).unwrap())
                .collect();
            routes.sort_by(Route::listing_order);
            black_box(routes).len()
        };
        let effort = Effort {
            ops: 1,
            ..bench.effort
        };
        let results = alternate(
            effort,
            vec![
                Contender::timed("storage", || {
                    black_box(storage.list_routes().unwrap().records.len())
                }),
                Contender::timed("raw MGET pipeline", || raw_list(&mut raw)),
            ],
        );
        let counter = RoundTrips::start(bench.url)?;
        let listed = storage.list_routes().map_err(err("list_routes"))?;
        black_box(listed.records.len());
        let storage_trips = counter.finish()?;
        let counter = RoundTrips::start(bench.url)?;
        raw_list(&mut raw);
        let raw_trips = counter.finish()?;
        trips.push(storage_trips);
        let total = ids.len();
        bench.report.row(Row {
            scenario: format!("list_routes, {total} routes (time; round trips)"),
            ours: format!("{:.2} ms; {storage_trips} rt", ms(results[0].round_time)),
            baseline: format!(
                "{:.2} ms; {raw_trips} rt (raw MGET)",
                ms(results[1].round_time)
            ),
            ratio: Some(results[1].round_time.as_secs_f64() / results[0].round_time.as_secs_f64()),
            target: "round trips independent of N".into(),
            met: None,
        });
        bench.report.scaling.push(ScalingPoint {
            routes: total,
            storage_ms: ms(results[0].round_time),
            raw_ms: ms(results[1].round_time),
        });
    }
    let constant = trips.windows(2).all(|w| w[0] == w[1]);
    bench.report.row(Row {
        scenario: "list_routes round trips across sizes".into(),
        ours: format!("{trips:?}"),
        baseline: "-".into(),
        ratio: None,
        target: "independent of N".into(),
        met: Some(constant),
    });
    Ok(())
}

/// OAuth keys the migration scenario puts beside the routes: the keyspace a scan must cross.
const OAUTH_KEYS: usize = 100_000;

/// `list_routes` over routes the old layer wrote, in a keyspace that also holds
/// [`OAUTH_KEYS`] OAuth keys: the mixed phase (a scan finds them) and the finished phase (the
/// index alone), side by side with the old layer's own listing (`SCAN` of its ordering index
/// plus one `GET` per record).
pub fn migration_listings(bench: &mut Bench<'_>, sizes: &[usize]) -> Result<(), String> {
    let mut raw = raw_connection(bench.url)?;
    let filler = config(bench.url, "oauth-filler")?.key_space();
    for batch in (0..OAUTH_KEYS).collect::<Vec<_>>().chunks(10_000) {
        let mut pipe = redis::pipe();
        for i in batch {
            pipe.cmd("SET")
                .arg(filler.oauth_code(&format!("code-{i}")))
                .arg("{}")
                .arg("EX")
                .arg(3600)
                .ignore();
        }
        pipe.query::<()>(&mut raw)
            .map_err(redis_err("fill OAuth keys"))?;
    }
    for &size in sizes {
        let mixed = config(bench.url, &format!("mixed-{size}"))?;
        let finished = config(bench.url, &format!("finished-{size}"))?;
        for config in [&mixed, &finished] {
            write_legacy_routes(&mut raw, config.key_space().prefix(), size)?;
        }
        let mixed_keys = mixed.key_space();
        let mixed = blocking::Storage::connect(mixed).map_err(err("connect"))?;
        let finished = blocking::Storage::connect(finished).map_err(err("connect"))?;
        finished
            .finish_migration()
            .map_err(err("finish_migration"))?;
        let mut legacy = raw_connection(bench.url)?;
        let pattern = format!("{}route:priority:*", mixed_keys.prefix());
        let mut legacy_list = || legacy_list_routes(&mut legacy, &mixed_keys, &pattern);
        let expected = legacy_list();
        let effort = Effort {
            ops: 1,
            rounds: bench.effort.rounds.min(5),
            ..bench.effort
        };
        let results = alternate(
            effort,
            vec![
                Contender::timed("mixed phase", || {
                    black_box(mixed.list_routes().unwrap().records.len())
                }),
                Contender::timed("finished phase", || {
                    black_box(finished.list_routes().unwrap().records.len())
                }),
                Contender::timed("legacy SCAN + GET", &mut legacy_list),
            ],
        );
        let mut trips = Vec::new();
        let mut list_mixed = || black_box(mixed.list_routes().unwrap().records.len());
        let mut list_finished = || black_box(finished.list_routes().unwrap().records.len());
        let lists: [&mut dyn FnMut() -> usize; 3] =
            [&mut list_mixed, &mut list_finished, &mut legacy_list];
        for list in lists {
            let counter = RoundTrips::start(bench.url)?;
            let listed = list();
            trips.push(counter.finish()?);
            if listed < expected {
                return Err(format!("a listing found {listed} of {expected} routes"));
            }
        }
        for (i, phase) in ["mixed", "finished"].into_iter().enumerate() {
            bench.report.row(Row {
                scenario: format!(
                    "list_routes, {expected} legacy routes + {OAUTH_KEYS} OAuth keys, {phase} phase (time; round trips)"
                ),
                ours: format!("{:.1} ms; {} rt", ms(results[i].round_time), trips[i]),
                baseline: format!(
                    "{:.1} ms; {} rt (legacy SCAN + GET)",
                    ms(results[2].round_time),
                    trips[2]
                ),
                ratio: Some(
                    results[2].round_time.as_secs_f64() / results[i].round_time.as_secs_f64(),
                ),
                target: "report".into(),
                met: None,
            });
        }
    }
    Ok(())
}

/// `size` routes as the old layer writes them: record, ordering key, uniqueness key, no
/// index set of this crate.
pub(super) fn write_legacy_routes(
    raw: &mut redis::Connection,
    prefix: &str,
    size: usize,
) -> Result<(), String> {
    let mut pipe = redis::pipe();
    for i in 0..size {
        let id = format!("legacy-{i}");
        let priority = (i % 100) as u16;
        let mut route = Route::to_url(&id, format!("/legacy/{i}"), priority, "http://api:9000");
        route.description = "written by the old layer".into();
        let json = serde_json::to_string(&route).map_err(|e| e.to_string())?;
        pipe.cmd("SET")
            .arg(format!("{prefix}route:{id}"))
            .arg(json)
            .ignore();
        pipe.cmd("SET")
            .arg(format!(
                "{prefix}route:priority:{:04}:{id}",
                100 - i32::from(priority)
            ))
            .arg(&id)
            .ignore();
    }
    pipe.query::<()>(raw)
        .map_err(redis_err("write legacy routes"))
}

/// The old layer's `list_routes`: `SCAN` its ordering index, then `GET` each record.
fn legacy_list_routes(
    raw: &mut redis::Connection,
    keys: &storage::KeySpace,
    pattern: &str,
) -> usize {
    let mut cursor = 0u64;
    let mut routes = Vec::new();
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(1000)
            .query(raw)
            .unwrap();
        for key in batch {
            let id = key.rsplit(':').next().unwrap_or_default();
            let json: Option<String> = redis::cmd("GET").arg(keys.route(id)).query(raw).unwrap();
            if let Some(route) = json.and_then(|j| serde_json::from_str::<Route>(&j).ok()) {
                routes.push(route);
            }
        }
        if next == 0 {
            break;
        }
        cursor = next;
    }
    black_box(routes).len()
}

/// `update_proxy_target` by 8 concurrent writers on one record: updates per second, and a
/// check that every update survived.
pub fn concurrent_updates(bench: &mut Bench<'_>) -> Result<(), String> {
    const WRITERS: usize = 8;
    // Every lost race is another writer's success; let a writer lose them all.
    let config = config(bench.url, "update")?.with_max_update_attempts(100_000);
    let storage = blocking::Storage::connect(config).map_err(err("connect"))?;
    // Each update adds a header, so the record grows with the round: keep it modest, or the
    // scenario measures JSON size instead of contention.
    let per_writer = if bench.effort.ops >= 20_000 { 50 } else { 20 };
    let mut all_present = true;
    let mut round = 0usize;
    let results = alternate(
        Effort {
            warmup: 0,
            ..bench.effort
        },
        vec![Contender::new("storage", || {
            round += 1;
            let hostname = format!("update-{round}.example");
            let mut proxy = ProxyTarget::new(hostname.clone(), "http://backend:8080");
            proxy.custom_headers = Some(BTreeMap::new());
            storage.store_proxy_target(proxy).unwrap();
            let sample = timed(|| {
                std::thread::scope(|scope| {
                    for writer in 0..WRITERS {
                        let (storage, hostname) = (&storage, &hostname);
                        scope.spawn(move || {
                            for i in 0..per_writer {
                                storage
                                    .update_proxy_target(hostname, |p| {
                                        let headers =
                                            p.custom_headers.get_or_insert_with(BTreeMap::new);
                                        headers.insert(format!("X-{writer}-{i}"), "1".into());
                                    })
                                    .unwrap();
                            }
                        });
                    }
                });
                WRITERS * per_writer
            });
            let stored = storage.get_proxy_target(&hostname).unwrap().unwrap();
            let present = stored.custom_headers.map_or(0, |h| h.len());
            all_present &= present == WRITERS * per_writer;
            sample
        })],
    );
    bench.report.row(Row {
        scenario: format!("update_proxy_target, {WRITERS} writers on one record"),
        ours: rate(&results[0]),
        baseline: "-".into(),
        ratio: None,
        target: "every update present".into(),
        met: Some(all_present),
    });
    Ok(())
}

/// Deletes what the scenarios wrote to a server the benchmark did not start.
pub fn remove_bench_keys(url: &str) -> Result<(), String> {
    let mut connection = raw_connection(url)?;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("{bench-*")
        .query(&mut connection)
        .map_err(redis_err("KEYS"))?;
    for chunk in keys.chunks(1000) {
        redis::cmd("DEL")
            .arg(chunk)
            .query::<()>(&mut connection)
            .map_err(redis_err("DEL"))?;
    }
    Ok(())
}

fn report_pair(report: &mut Report, scenario: &str, ours: &Measured, base: &Measured) {
    report.row(Row {
        scenario: scenario.to_owned(),
        ours: rate(ours),
        baseline: format!("{} ({})", rate(base), base.name),
        ratio: Some(ours.ops_per_sec / base.ops_per_sec),
        target: "report".into(),
        met: None,
    });
}

/// Certificate writes and lookups by domain against the raw commands they stand for.
pub fn certificates(bench: &mut Bench<'_>) -> Result<(), String> {
    let config = config(bench.url, "certs")?;
    let keys = config.key_space();
    let storage = blocking::Storage::connect(config).map_err(err("connect"))?;
    let mut cert = storage::Certificate::new(
        "bench-cert",
        ["bench.example", "www.bench.example"],
        "ops@bench.example",
    );
    cert.fullchain_pem = Some(storage::Secret::new(
        "-----BEGIN CERTIFICATE-----\n".repeat(20),
    ));
    cert.private_key_pem = Some(storage::Secret::new(
        "-----BEGIN PRIVATE KEY-----\n".repeat(10),
    ));
    cert.expires_at = Some(storage::Timestamp::now());
    let json = serde_json::to_string(&cert).map_err(|e| e.to_string())?;
    let mut raw = raw_connection(bench.url)?;
    let ops = bench.effort.ops / 4;
    let writes = alternate(
        bench.effort,
        vec![
            Contender::timed("storage", || {
                for _ in 0..ops {
                    storage.store_certificate(cert.clone()).unwrap();
                }
                ops
            }),
            Contender::timed("raw MULTI: SET record, domains, SADD, ZADD", || {
                for _ in 0..ops {
                    redis::pipe()
                        .atomic()
                        .set(keys.cert("raw-cert"), &json)
                        .set(keys.cert_domain("raw.example"), "raw-cert")
                        .set(keys.cert_domain("www.raw.example"), "raw-cert")
                        .sadd(keys.cert_index(), "raw-cert")
                        .zadd(keys.cert_expiry(), "raw-cert", 1)
                        .query::<()>(&mut raw)
                        .unwrap();
                }
                ops
            }),
        ],
    );
    report_pair(
        bench.report,
        "store_certificate (2 round trips, checked)",
        &writes[0],
        &writes[1],
    );
    let lookups = alternate(
        bench.effort,
        vec![
            Contender::timed("storage", || {
                for _ in 0..ops {
                    black_box(
                        storage
                            .get_certificate_by_domain("www.bench.example")
                            .unwrap(),
                    );
                }
                ops
            }),
            Contender::timed("raw GET domain, GET record", || {
                for _ in 0..ops {
                    let name: String = redis::cmd("GET")
                        .arg(keys.cert_domain("www.bench.example"))
                        .query(&mut raw)
                        .unwrap();
                    let record: Vec<u8> = redis::cmd("GET")
                        .arg(keys.cert(&name))
                        .query(&mut raw)
                        .unwrap();
                    let cert: storage::Certificate = serde_json::from_slice(&record).unwrap();
                    black_box(cert);
                }
                ops
            }),
        ],
    );
    report_pair(
        bench.report,
        "get_certificate_by_domain",
        &lookups[0],
        &lookups[1],
    );
    Ok(())
}

/// Code issue and consume, and refresh rotation.
/// The grant every code scenario issues codes for.
pub fn code_grant() -> storage::oauth::CodeGrant {
    storage::oauth::CodeGrant {
        client_id: "bench-client".into(),
        redirect_uri: "https://app.example/cb".into(),
        scope: "mcp".into(),
        user: "bench".into(),
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
        code_challenge_method: "S256".into(),
    }
}

pub fn oauth(bench: &mut Bench<'_>) -> Result<(), String> {
    use storage::oauth::{CodeGrant, RefreshGrant, RefreshOutcome};
    let config = config(bench.url, "oauth")?;
    let keys = config.key_space();
    let storage = blocking::Storage::connect(config).map_err(err("connect"))?;
    let grant = code_grant();
    let json = serde_json::to_string(&grant).map_err(|e| e.to_string())?;
    let mut raw = raw_connection(bench.url)?;
    let ops = bench.effort.ops / 4;
    let codes = alternate(
        bench.effort,
        vec![
            Contender::timed("storage", || {
                for _ in 0..ops {
                    let code = storage.issue_code(&grant).unwrap();
                    black_box(
                        storage
                            .consume_code(code.expose(), "bench-client", "https://app.example/cb")
                            .unwrap(),
                    );
                }
                ops
            }),
            Contender::timed("raw SET EX + GETDEL", || {
                for i in 0..ops {
                    let key = keys.oauth_code(&format!("raw-{i}"));
                    redis::cmd("SET")
                        .arg(&key)
                        .arg(&json)
                        .arg("EX")
                        .arg(600)
                        .query::<()>(&mut raw)
                        .unwrap();
                    let taken: Vec<u8> = redis::cmd("GETDEL").arg(&key).query(&mut raw).unwrap();
                    black_box(serde_json::from_slice::<CodeGrant>(&taken).unwrap());
                }
                ops
            }),
        ],
    );
    report_pair(
        bench.report,
        "issue_code + consume_code (hashed, replay-aware)",
        &codes[0],
        &codes[1],
    );

    let mut token = storage
        .issue_refresh_token(&RefreshGrant {
            client_id: "bench-client".into(),
            user: "bench".into(),
            scope: "mcp".into(),
        })
        .map_err(err("issue_refresh_token"))?
        .token;
    let rotations = alternate(
        bench.effort,
        vec![Contender::timed("storage", || {
            for _ in 0..ops {
                match storage
                    .rotate_refresh_token(token.expose(), "bench-client")
                    .unwrap()
                {
                    RefreshOutcome::Rotated(next) => token = next.token,
                    other => panic!("rotation failed: {other:?}"),
                }
            }
            ops
        })],
    );
    bench.report.row(Row {
        scenario: "rotate_refresh_token (1 round trip)".into(),
        ours: rate(&rotations[0]),
        baseline: "-".into(),
        ratio: None,
        target: "report".into(),
        met: None,
    });
    Ok(())
}
