//! What a backup and a restore of a deployment-sized store cost (what `gwstore backup` and
//! `gwstore restore` run), beside `redis-cli --rdb` dumping the same server: the floor of
//! any copy of the data.

use std::hint::black_box;
use std::process::Command;

use storage::{blocking, Certificate, Secret};
use test_harness::RedisServer;

use super::measure::{alternate, timed, Contender, Effort};
use super::report::Row;
use super::scenarios::{config, which, write_legacy_routes, Bench};

/// The store's size: routes, certificates, OAuth keys (which a backup leaves out, but
/// whose presence the keyspace scans pay for).
fn sizes(quick: bool) -> (usize, usize, usize) {
    if quick {
        (1_000, 100, 10_000)
    } else {
        (10_000, 1_000, 100_000)
    }
}

pub fn backups(bench: &mut Bench<'_>, quick: bool) -> Result<(), String> {
    // A server of its own: `redis-cli --rdb` dumps all of it, so it must hold this store
    // alone.
    let server = RedisServer::try_start(Default::default())?;
    let url = server.url();
    let (routes, certificates, oauth_keys) = sizes(quick);
    let source = config(&url, "backup-source")?;
    let prefix = source.key_space().prefix().to_owned();
    let mut raw = redis::Client::open(url.as_str())
        .and_then(|c| c.get_connection())
        .map_err(|e| format!("raw connection: {e}"))?;
    write_legacy_routes(&mut raw, &prefix, routes)?;
    fill(&mut raw, &source.key_space(), certificates, oauth_keys)?;
    let storage = blocking::Storage::connect(source).map_err(|e| format!("connect: {e}"))?;
    storage
        .finish_migration()
        .map_err(|e| format!("finish_migration: {e}"))?;

    let backup = storage.backup().map_err(|e| format!("backup: {e}"))?;
    let records = backup.records.len();
    let as_text = |backup: &storage::Backup| -> usize {
        backup
            .records
            .iter()
            .map(|record| serde_json::to_string(record).map_or(0, |line| line.len()))
            .sum()
    };
    let bytes = as_text(&backup);
    let rdb = std::env::temp_dir().join(format!("gw-bench-{}.rdb", std::process::id()));
    let Some(cli) = which("redis-cli") else {
        bench
            .report
            .notes
            .push("redis-cli not found: the backup rows were skipped".into());
        return Ok(());
    };
    // Redis waits `repl-diskless-sync-delay` (5 s) for more replicas before it streams a
    // dump; a backup tool has none to wait for.
    redis::cmd("CONFIG")
        .arg("SET")
        .arg("repl-diskless-sync-delay")
        .arg(0)
        .query::<()>(&mut raw)
        .map_err(|e| format!("CONFIG SET: {e}"))?;
    let port = server.port().to_string();
    let effort = Effort {
        ops: 1,
        rounds: bench.effort.rounds.min(3),
        warmup: 0,
    };
    let results = alternate(
        effort,
        vec![
            Contender::timed("backup", || {
                let backup = storage.backup().expect("backup");
                black_box(as_text(&backup));
                backup.records.len()
            }),
            Contender::timed("redis-cli --rdb", || {
                let dumped = Command::new(&cli)
                    .args(["-p", &port, "--rdb"])
                    .arg(&rdb)
                    .output()
                    .expect("redis-cli --rdb");
                assert!(dumped.status.success(), "redis-cli --rdb failed");
                1
            }),
        ],
    );
    let rdb_bytes = std::fs::metadata(&rdb).map_or(0, |m| m.len());
    let _ = std::fs::remove_file(&rdb);

    // Each restore into an empty store of its own.
    let mut restore_times = Vec::new();
    for round in 0..effort.rounds {
        let target = config(&url, &format!("backup-target-{round}"))?.without_seeding();
        let target = blocking::Storage::connect(target).map_err(|e| format!("connect: {e}"))?;
        let sample = timed(|| {
            for record in &backup.records {
                target.restore(record).expect("restore");
            }
            records
        });
        restore_times.push(sample.elapsed);
        let again = target.backup().map_err(|e| format!("backup: {e}"))?;
        if again != backup {
            return Err("a restored store backs up to something else".into());
        }
    }
    restore_times.sort();
    let restore = restore_times[restore_times.len() / 2];

    let store = format!(
        "{routes} routes + {certificates} certificates + {oauth_keys} OAuth keys (left out)"
    );
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
    bench.report.row(Row {
        scenario: format!("backup of {store}: {records} records, {} KiB", bytes / 1024),
        ours: format!("{:.0} ms", ms(results[0].round_time)),
        baseline: format!(
            "{:.0} ms (redis-cli --rdb, {} KiB, every key)",
            ms(results[1].round_time),
            rdb_bytes / 1024
        ),
        ratio: Some(results[1].round_time.as_secs_f64() / results[0].round_time.as_secs_f64()),
        target: "report".into(),
        met: None,
    });
    bench.report.row(Row {
        scenario: format!("restore of that backup into an empty store: {records} records"),
        ours: format!("{:.0} ms", ms(restore)),
        baseline: format!(
            "{:.0} records/s, each through its family's script",
            records as f64 / restore.as_secs_f64()
        ),
        ratio: None,
        target: "report".into(),
        met: None,
    });
    Ok(())
}

/// `certificates` issued certificates (with PEMs, as the old layer writes them) and
/// `oauth_keys` authorization codes under `keys`.
fn fill(
    raw: &mut redis::Connection,
    keys: &storage::KeySpace,
    certificates: usize,
    oauth_keys: usize,
) -> Result<(), String> {
    let mut pipe = redis::pipe();
    for i in 0..certificates {
        let name = format!("cert-{i}");
        let mut cert =
            Certificate::new(&name, [format!("host-{i}.example.org")], "ops@example.org");
        cert.status = "active".into();
        cert.fullchain_pem = Some(Secret::new(format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            "M".repeat(1_800)
        )));
        cert.private_key_pem = Some(Secret::new(format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            "K".repeat(1_600)
        )));
        let json = serde_json::to_string(&cert).map_err(|e| e.to_string())?;
        pipe.cmd("SET").arg(keys.cert(&name)).arg(json).ignore();
    }
    for i in 0..oauth_keys {
        pipe.cmd("SET")
            .arg(keys.oauth_code(&format!("code-{i}")))
            .arg("{}")
            .arg("EX")
            .arg(3600)
            .ignore();
    }
    pipe.query::<()>(raw)
        .map_err(|e| format!("fill the store: {e}"))
}
