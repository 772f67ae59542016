//! What the cases share: one deployment per test binary, of the topology
//! `GW_TEST_TOPOLOGY` names (one server by default; a 3-master cluster; a master with a
//! replica and 3 sentinels), a key space of each test's own, the legacy records, and ways to
//! look at what Redis holds. A test that needs a server of its own starts one with
//! [`RedisServer`]: what it checks (a restart, a password, round trips counted by the
//! server) is about one server.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use storage::{StorageConfig, Topology};
pub use test_harness::fixtures::{self, LegacyRecord};
pub use test_harness::legacy::LegacyWriter;
pub use test_harness::{Deployment, RawConnection, RedisServer, ServerOptions};

/// The deployment shared by the tests of this binary.
pub fn deployment() -> &'static Deployment {
    static DEPLOYMENT: OnceLock<Deployment> = OnceLock::new();
    DEPLOYMENT.get_or_init(Deployment::from_env)
}

/// A standalone server shared by the tests of this binary: the deployment itself when it
/// is one server, else one of its own, for what only one server has (the existing
/// deployment's unprefixed layout in numbered databases).
pub fn shared() -> &'static RedisServer {
    static SERVER: OnceLock<RedisServer> = OnceLock::new();
    match deployment() {
        Deployment::Standalone(server) => server,
        _ => SERVER.get_or_init(RedisServer::start),
    }
}

/// A key prefix no other test uses, with a hash tag so its keys share a cluster slot.
pub fn unique_prefix(test: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!("{{t{}-{test}}}:", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// A configuration on the shared deployment under a prefix of the test's own.
pub fn config(test: &str) -> StorageConfig {
    StorageConfig::new(&deployment().url())
        .expect("test URL")
        .with_key_prefix(unique_prefix(test))
}

/// A Redis database that no other test uses, for tests that need the existing deployment's
/// unprefixed layout: on the deployment, or on [`shared`] where the deployment is a cluster
/// (whose one database cannot hold that layout atomically).
pub fn unprefixed_config() -> StorageConfig {
    static NEXT_DB: AtomicU32 = AtomicU32::new(1);
    let db = NEXT_DB.fetch_add(1, Ordering::Relaxed);
    assert!(db < 16, "out of Redis databases for unprefixed tests");
    let url = match deployment() {
        Deployment::Cluster(_) => format!("{}{db}", shared().url()),
        deployment => deployment.url_of_db(db),
    };
    StorageConfig::new(&url).expect("test URL")
}

/// A plain connection to the data `config` points at.
pub fn raw(config: &StorageConfig) -> RawConnection {
    match config.url.topology() {
        Topology::Standalone => RawConnection::to_server(config.url.expose()),
        _ => {
            let db = config
                .url
                .expose()
                .rsplit('/')
                .next()
                .and_then(|db| db.parse().ok())
                .unwrap_or(0);
            deployment().raw_db(db)
        }
    }
}

/// Writes the deployment's legacy records under `prefix`, as the old layer did.
pub fn load_fixtures(connection: &mut RawConnection, prefix: &str) {
    fixtures::load_deployment(connection, prefix);
}

/// The legacy record at `key`.
pub fn fixture(key: &str) -> &'static LegacyRecord {
    fixtures::record(key)
}

/// Stores the legacy `localhost` fixture, as the old layer wrote it, but with
/// `auth_excluded_paths` set to `paths` (an operator's own edits), under `config`'s prefix.
pub fn store_legacy_localhost(config: &StorageConfig, paths: &[&str]) {
    let mut record: serde_json::Value =
        serde_json::from_str(fixture("proxy:localhost").text()).expect("fixture JSON");
    record["auth_excluded_paths"] = serde_json::json!(paths);
    redis::cmd("SET")
        .arg(config.key_space().proxy("localhost"))
        .arg(record.to_string())
        .query::<()>(&mut raw(config))
        .expect("store legacy localhost");
}

/// Calls Redis has served, from `INFO commandstats`, leaving out the `INFO` calls that ask.
/// On a server of the test's own, with no scripts involved, that is the round trips.
pub fn commands_served(connection: &mut dyn redis::ConnectionLike) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(connection)
        .expect("INFO");
    info.lines()
        .filter(|line| line.starts_with("cmdstat_") && !line.starts_with("cmdstat_info:"))
        .filter_map(|line| {
            let calls = line.split("calls=").nth(1)?;
            calls.split(',').next()?.parse::<u64>().ok()
        })
        .sum()
}

/// How often Redis has run `command` (lower case), counting calls from scripts too.
pub fn calls_of(connection: &mut dyn redis::ConnectionLike, command: &str) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(connection)
        .expect("INFO");
    let prefix = format!("cmdstat_{command}:calls=");
    info.lines()
        .find_map(|line| line.strip_prefix(&prefix)?.split(',').next()?.parse().ok())
        .unwrap_or(0)
}

/// Every key and value in the server behind `config` (all databases), as one text: names,
/// strings, and the members and fields of sets, sorted sets and hashes.
pub fn dump_everything(config: &StorageConfig) -> String {
    let mut connection = raw(config);
    let mut dump = String::new();
    for db in 0..connection.databases() {
        if connection.databases() > 1 {
            redis::cmd("SELECT")
                .arg(db)
                .query::<()>(&mut connection)
                .expect("SELECT");
        }
        let keys = connection.keys("*");
        for key in keys {
            dump.push_str(&key);
            dump.push('\n');
            let (_, values) = contents(&mut connection, &key);
            for value in values {
                dump.push_str(&String::from_utf8_lossy(&value));
                dump.push('\n');
            }
        }
    }
    dump
}

/// The SHA-256 of `value`, base64url without padding: the form the storage promises to keep
/// OAuth secrets in, computed here independently of the storage's own code.
pub fn secret_hash(value: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(value.as_bytes()))
}

/// Every key of `config`'s key space (its prefix, and the OAuth keys spread by their own
/// ids) with its type and sorted contents: what a test compares before and after a call
/// that must change nothing, unaffected by the other tests sharing the server.
pub fn dump_key_space(config: &StorageConfig) -> std::collections::BTreeMap<String, String> {
    let mut connection = raw(config);
    let keys = config.key_space();
    let mut dump = std::collections::BTreeMap::new();
    let spread = keys.prefix().replace(['{', '}'], "");
    for prefix in [keys.prefix().to_owned(), spread] {
        let pattern = format!("{}*", prefix.replace('[', "\\[").replace('*', "\\*"));
        let found = connection.keys(&pattern);
        for key in found {
            let (kind, mut values) = contents(&mut connection, &key);
            if kind != "zset" && kind != "hash" && kind != "list" {
                values.sort();
            }
            let text: Vec<String> = values
                .iter()
                .map(|v| String::from_utf8_lossy(v).into_owned())
                .collect();
            dump.insert(key, format!("{kind}: {}", text.join(" | ")));
        }
    }
    dump
}

/// The keys whose content differs between two dumps (for a short failure message).
pub fn changed_keys(
    before: &std::collections::BTreeMap<String, String>,
    after: &std::collections::BTreeMap<String, String>,
) -> Vec<String> {
    let mut changed: Vec<String> = before
        .iter()
        .filter(|(key, value)| after.get(*key) != Some(value))
        .map(|(key, _)| key.clone())
        .collect();
    changed.extend(
        after
            .keys()
            .filter(|key| !before.contains_key(*key))
            .cloned(),
    );
    changed
}

/// The type of `key` and what it holds: a string's value, a set's members, a sorted set's
/// members with their scores, a hash's fields and values, a list's items.
fn contents(connection: &mut RawConnection, key: &str) -> (String, Vec<Vec<u8>>) {
    let kind: String = redis::cmd("TYPE").arg(key).query(connection).expect("TYPE");
    let mut cmd = match kind.as_str() {
        "string" => redis::cmd("GET"),
        "set" => redis::cmd("SMEMBERS"),
        "zset" => redis::cmd("ZRANGE"),
        "hash" => redis::cmd("HGETALL"),
        "list" => redis::cmd("LRANGE"),
        _ => return (kind, Vec::new()),
    };
    cmd.arg(key);
    if kind == "zset" {
        cmd.arg(0).arg(-1).arg("WITHSCORES");
    } else if kind == "list" {
        cmd.arg(0).arg(-1);
    }
    let values = if kind == "string" {
        vec![cmd.query::<Vec<u8>>(connection).unwrap_or_default()]
    } else {
        cmd.query(connection).unwrap_or_default()
    };
    (kind, values)
}
