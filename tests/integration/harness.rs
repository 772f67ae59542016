//! A throwaway `redis-server` per test binary (or per test, where a test needs a server of
//! its own), on a free port, with no persistence. Nothing here depends on a server that
//! happens to run on 6379, and every test gets key space of its own.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use storage::StorageConfig;

/// A running `redis-server`, stopped when this is dropped or when the test process exits.
pub struct RedisServer {
    pub port: u16,
    // The server runs under a shell that kills it when this pipe closes: dropping the child's
    // stdin (at drop, or when the test process dies) stops the server.
    guard: Child,
}

impl RedisServer {
    /// Starts a server with extra `redis-server` arguments, and waits until it answers.
    pub fn start(extra: &[&str]) -> RedisServer {
        let binary = redis_server_binary();
        let dir = std::env::temp_dir();
        for _ in 0..20 {
            let port = free_port();
            let mut args = vec![
                binary.display().to_string(),
                "--port".into(),
                port.to_string(),
                "--bind".into(),
                "127.0.0.1".into(),
                "--save".into(),
                "".into(),
                "--appendonly".into(),
                "no".into(),
                "--dir".into(),
                dir.display().to_string(),
                "--loglevel".into(),
                "warning".into(),
            ];
            args.extend(extra.iter().map(|a| a.to_string()));
            let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
            let script = format!(
                "{} >/dev/null 2>&1 & pid=$!; echo started; read _; kill $pid 2>/dev/null; wait $pid",
                quoted.join(" ")
            );
            let mut guard = Command::new("sh")
                .arg("-c")
                .arg(script)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn sh for redis-server");
            let mut line = String::new();
            BufReader::new(guard.stdout.take().expect("stdout"))
                .read_line(&mut line)
                .expect("read from the redis-server guard");
            let server = RedisServer { port, guard };
            if server.wait_ready(extra) {
                return server;
            }
        }
        panic!("redis-server did not start on any of 20 free ports");
    }

    fn wait_ready(&self, extra: &[&str]) -> bool {
        let password = extra
            .windows(2)
            .find(|w| w[0] == "--requirepass")
            .map(|w| w[1].to_owned());
        let url = match password {
            Some(p) => format!("redis://:{p}@127.0.0.1:{}/", self.port),
            None => self.url(),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let ping = redis::Client::open(url.as_str())
                .and_then(|c| c.get_connection_with_timeout(Duration::from_millis(200)))
                .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c));
            if ping.is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// A plain redis-rs connection, for setting up and inspecting what the storage wrote.
    pub fn raw(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .and_then(|c| c.get_connection())
            .expect("raw connection to the test server")
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        drop(self.guard.stdin.take());
        let _ = self.guard.wait();
    }
}

fn redis_server_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("REDIS_SERVER") {
        return path.into();
    }
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("redis-server"))
            .find(|candidate| candidate.is_file())
    });
    found.expect(
        "redis-server not found: install it (apt-get install -y redis-server) or set REDIS_SERVER",
    )
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The server shared by the tests of this binary.
pub fn shared() -> &'static RedisServer {
    static SERVER: OnceLock<RedisServer> = OnceLock::new();
    SERVER.get_or_init(|| RedisServer::start(&[]))
}

/// A key prefix no other test uses, with a hash tag so its keys share a cluster slot.
pub fn unique_prefix(test: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!("{{t{}-{test}}}:", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// A configuration on the shared server under a prefix of the test's own.
pub fn config(test: &str) -> StorageConfig {
    StorageConfig::new(&shared().url())
        .expect("test URL")
        .with_key_prefix(unique_prefix(test))
}

/// A Redis database of the shared server that no other test uses, for tests that need the
/// existing deployment's unprefixed layout.
pub fn unprefixed_config() -> StorageConfig {
    static NEXT_DB: AtomicU32 = AtomicU32::new(1);
    let db = NEXT_DB.fetch_add(1, Ordering::Relaxed);
    assert!(db < 16, "out of Redis databases for unprefixed tests");
    StorageConfig::new(&format!("{}{db}", shared().url())).expect("test URL")
}

/// A plain connection to the database `config` points at.
pub fn raw(config: &StorageConfig) -> redis::Connection {
    redis::Client::open(config.url.expose())
        .and_then(|c| c.get_connection())
        .expect("raw connection")
}

/// One record of `../shared/fixtures/legacy-records.json`.
pub struct Fixture {
    pub key: String,
    pub value: String,
    pub ttl_seconds: Option<u64>,
}

/// The records the existing deployment wrote.
pub fn fixtures() -> Vec<Fixture> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/fixtures/legacy-records.json"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    let doc: serde_json::Value = serde_json::from_str(&text).expect("fixture JSON");
    doc["records"]
        .as_array()
        .expect("records array")
        .iter()
        .map(|r| Fixture {
            key: r["key"].as_str().expect("key").to_owned(),
            value: r["value"].as_str().expect("value").to_owned(),
            ttl_seconds: r["ttl_seconds"].as_u64(),
        })
        .collect()
}

/// Writes the fixtures under `prefix`, as the existing deployment would have.
pub fn load_fixtures(connection: &mut redis::Connection, prefix: &str) {
    for fixture in fixtures() {
        let key = format!("{prefix}{}", fixture.key);
        let mut cmd = redis::cmd("SET");
        cmd.arg(&key).arg(&fixture.value);
        if let Some(ttl) = fixture.ttl_seconds {
            cmd.arg("EX").arg(ttl);
        }
        cmd.query::<()>(connection).expect("load fixture");
    }
}

/// The fixture stored at `key`.
pub fn fixture(key: &str) -> Fixture {
    fixtures()
        .into_iter()
        .find(|f| f.key == key)
        .unwrap_or_else(|| panic!("no fixture {key}"))
}

/// Stores the legacy `localhost` fixture, as the old layer wrote it, but with
/// `auth_excluded_paths` set to `paths` (an operator's own edits), under `config`'s prefix.
pub fn store_legacy_localhost(config: &StorageConfig, paths: &[&str]) {
    let mut record: serde_json::Value =
        serde_json::from_str(&fixture("proxy:localhost").value).expect("fixture JSON");
    record["auth_excluded_paths"] = serde_json::json!(paths);
    redis::cmd("SET")
        .arg(config.key_space().proxy("localhost"))
        .arg(record.to_string())
        .query::<()>(&mut raw(config))
        .expect("store legacy localhost");
}

/// Calls Redis has served, from `INFO commandstats`, leaving out the `INFO` calls that ask.
/// On a server of the test's own, with no scripts involved, that is the round trips.
pub fn commands_served(connection: &mut redis::Connection) -> u64 {
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

/// Every key and value in the server behind `config` (all databases), as one text: names,
/// strings, and the members and fields of sets, sorted sets and hashes.
pub fn dump_everything(config: &StorageConfig) -> String {
    let mut connection = raw(config);
    let mut dump = String::new();
    for db in 0..16 {
        redis::cmd("SELECT")
            .arg(db)
            .query::<()>(&mut connection)
            .expect("SELECT");
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg("*")
            .query(&mut connection)
            .expect("KEYS");
        for key in keys {
            dump.push_str(&key);
            dump.push('\n');
            let kind: String = redis::cmd("TYPE")
                .arg(&key)
                .query(&mut connection)
                .expect("TYPE");
            let values: Vec<Vec<u8>> = match kind.as_str() {
                "string" => vec![redis::cmd("GET")
                    .arg(&key)
                    .query(&mut connection)
                    .unwrap_or_default()],
                "set" => redis::cmd("SMEMBERS")
                    .arg(&key)
                    .query(&mut connection)
                    .unwrap_or_default(),
                "zset" => redis::cmd("ZRANGE")
                    .arg(&key)
                    .arg(0)
                    .arg(-1)
                    .query(&mut connection)
                    .unwrap_or_default(),
                "hash" => redis::cmd("HGETALL")
                    .arg(&key)
                    .query(&mut connection)
                    .unwrap_or_default(),
                "list" => redis::cmd("LRANGE")
                    .arg(&key)
                    .arg(0)
                    .arg(-1)
                    .query(&mut connection)
                    .unwrap_or_default(),
                _ => Vec::new(),
            };
            for value in values {
                dump.push_str(&String::from_utf8_lossy(&value));
                dump.push('\n');
            }
        }
    }
    dump
}
