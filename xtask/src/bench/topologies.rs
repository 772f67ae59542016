//! The same operations on one server, on a 3-master Redis Cluster and through Sentinel,
//! side by side in one run, and how OAuth work spreads over the cluster's masters.
//!
//! The cluster and the sentinel group are started here, from the same `redis-server`, on
//! the same machine: the ratios show what the topology costs a call, not what a network
//! would add.

use std::collections::BTreeMap;
use std::hint::black_box;

use storage::{asynchronous, blocking};
use test_harness::{RedisCluster, SentinelGroup, MASTER_NAME};

use super::measure::{alternate, Contender, Measured};
use super::report::Row;
use super::scenarios::{code_grant, config, Bench};

fn failed(context: &str) -> impl Fn(storage::Error) -> String + '_ {
    move |e| format!("{context}: {e}")
}

/// A row comparing `topology` with one server.
fn topology_row(bench: &mut Bench<'_>, scenario: &str, topology: &Measured, standalone: &Measured) {
    bench.report.row(Row {
        scenario: format!("{scenario}: {}", topology.name),
        ours: format!("{:.0} ops/s", topology.ops_per_sec),
        baseline: format!("{:.0} ops/s (standalone)", standalone.ops_per_sec),
        ratio: Some(topology.ops_per_sec / standalone.ops_per_sec),
        target: "report".into(),
        met: None,
    });
}

/// Calls each node has served, from `INFO commandstats`, leaving out `INFO` itself.
fn commands_served(ports: &[u16]) -> Result<BTreeMap<u16, u64>, String> {
    ports
        .iter()
        .map(|port| {
            let info: String = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
                .and_then(|c| c.get_connection())
                .and_then(|mut c| redis::cmd("INFO").arg("commandstats").query(&mut c))
                .map_err(|e| format!("INFO commandstats on {port}: {e}"))?;
            let calls = info
                .lines()
                .filter(|line| line.starts_with("cmdstat_") && !line.starts_with("cmdstat_info:"))
                .filter_map(|line| {
                    line.split("calls=")
                        .nth(1)?
                        .split(',')
                        .next()?
                        .parse::<u64>()
                        .ok()
                })
                .sum();
            Ok((*port, calls))
        })
        .collect()
}

pub fn topologies(bench: &mut Bench<'_>) -> Result<(), String> {
    let cluster = RedisCluster::start(3, 0);
    let group = SentinelGroup::start(3);
    let hosts = |ports: Vec<u16>| {
        ports
            .iter()
            .map(|port| format!("127.0.0.1:{port}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let masters: Vec<u16> = cluster.nodes().iter().map(|node| node.port()).collect();
    let urls = [
        ("standalone", bench.url.to_owned()),
        (
            "cluster",
            format!("redis+cluster://{}", hosts(masters.clone())),
        ),
        (
            "sentinel",
            format!(
                "redis+sentinel://{}/{MASTER_NAME}",
                hosts(group.sentinel_ports())
            ),
        ),
    ];
    let mut stores = Vec::new();
    let mut async_stores = Vec::new();
    for (name, url) in &urls {
        let config = config(url, &format!("topology-{name}"))?;
        stores.push((
            *name,
            blocking::Storage::connect(config.clone()).map_err(failed("connect"))?,
        ));
        let connected = bench
            .runtime
            .block_on(asynchronous::Storage::connect(config));
        async_stores.push((*name, connected.map_err(failed("connect"))?));
    }
    let ops = bench.effort.ops / 2;

    let gets = alternate(
        bench.effort,
        stores
            .iter()
            .map(|(name, storage)| {
                Contender::timed(name, move || {
                    for _ in 0..ops {
                        black_box(storage.get_proxy_target("localhost").unwrap());
                    }
                    ops
                })
            })
            .collect(),
    );
    for topology in &gets[1..] {
        topology_row(
            bench,
            "get_proxy_target, blocking, 1 thread",
            topology,
            &gets[0],
        );
    }

    let runtime = bench.runtime;
    let tasks = 32;
    let async_gets = alternate(
        bench.effort,
        async_stores
            .iter()
            .map(|(name, storage)| {
                Contender::timed(name, move || {
                    runtime.block_on(async {
                        let per_task = ops / tasks;
                        let handles: Vec<_> = (0..tasks)
                            .map(|_| {
                                let storage = storage.clone();
                                tokio::spawn(async move {
                                    for _ in 0..per_task {
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
                        per_task * tasks
                    })
                })
            })
            .collect(),
    );
    for topology in &async_gets[1..] {
        topology_row(
            bench,
            "get_proxy_target, async, 32 tasks",
            topology,
            &async_gets[0],
        );
    }

    let grant = code_grant();
    let code_ops = ops / 4;
    let before = commands_served(&masters)?;
    let codes = alternate(
        bench.effort,
        stores
            .iter()
            .map(|(name, storage)| {
                let grant = &grant;
                Contender::timed(name, move || {
                    for _ in 0..code_ops {
                        let code = storage.issue_code(grant).unwrap();
                        let redeemed = storage
                            .consume_code(code.expose(), "bench-client", "https://app.example/cb")
                            .unwrap();
                        black_box(redeemed);
                    }
                    code_ops
                })
            })
            .collect(),
    );
    for topology in &codes[1..] {
        topology_row(
            bench,
            "issue_code + consume_code, blocking",
            topology,
            &codes[0],
        );
    }
    let after = commands_served(&masters)?;
    let spread: Vec<u64> = masters
        .iter()
        .map(|port| after[port] - before[port])
        .collect();
    let total: u64 = spread.iter().sum::<u64>().max(1);
    let shares: Vec<String> = spread
        .iter()
        .enumerate()
        .map(|(i, calls)| {
            format!(
                "master {}: {calls} ({:.0}%)",
                i + 1,
                *calls as f64 * 100.0 / total as f64
            )
        })
        .collect();
    let note = format!(
        "OAuth codes on the 3-master cluster (issue + consume, every round): commands per \
         master from INFO commandstats: {}",
        shares.join(", ")
    );
    println!("  {note}");
    bench.report.notes.push(note);
    Ok(())
}
