//! A throwaway `redis-server` per caller, on a free loopback port.
//!
//! The server runs under a small shell that kills it when its standard input closes: when
//! the [`RedisServer`] is dropped, and also when the process that started it dies without
//! running destructors (a failed test binary, a killed benchmark). Nothing is left behind
//! on the machine, and nothing depends on a server that happens to run on 6379.

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// What to say when there is no `redis-server` to start.
pub const INSTALL_HINT: &str = "redis-server not found: install it \
(Debian/Ubuntu: apt-get install -y redis-server) or set REDIS_SERVER=/path/to/redis-server";

/// How long a server may take to answer after it was started.
const READY_WITHIN: Duration = Duration::from_secs(10);

/// How a server is started, beyond the defaults (loopback, free port, no persistence).
#[derive(Clone, Debug, Default)]
pub struct ServerOptions {
    args: Vec<String>,
    password: Option<String>,
    tls: Option<TlsFiles>,
    sentinel: Option<Monitor>,
}

/// What a sentinel watches.
#[derive(Clone, Debug)]
struct Monitor {
    master_name: String,
    master_port: u16,
    quorum: u32,
    down_after: Duration,
}

#[derive(Clone, Debug)]
struct TlsFiles {
    cert: PathBuf,
    key: PathBuf,
    ca: PathBuf,
}

impl ServerOptions {
    /// The defaults.
    pub fn new() -> Self {
        ServerOptions::default()
    }

    /// Extra `redis-server` arguments, given after the defaults (so they win).
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Requires `password` (`--requirepass`); readiness is checked with it.
    pub fn password(mut self, password: &str) -> Self {
        self.password = Some(password.to_owned());
        self
    }

    /// Runs as a sentinel (`redis-server sentinel.conf --sentinel`) watching the master on
    /// `master_port` under `master_name`, with `quorum` and the time after which an
    /// unanswering master is taken for down.
    pub fn sentinel(
        mut self,
        master_name: &str,
        master_port: u16,
        quorum: u32,
        down_after: Duration,
    ) -> Self {
        self.sentinel = Some(Monitor {
            master_name: master_name.to_owned(),
            master_port,
            quorum,
            down_after,
        });
        self
    }

    /// Serves only TLS on the port, with this certificate, key and client CA.
    pub fn tls(mut self, cert: &Path, key: &Path, ca: &Path) -> Self {
        self.tls = Some(TlsFiles {
            cert: cert.to_owned(),
            key: key.to_owned(),
            ca: ca.to_owned(),
        });
        self
    }
}

/// A running `redis-server`, stopped when dropped.
pub struct RedisServer {
    port: u16,
    options: ServerOptions,
    dir: PathBuf,
    process: Option<Process>,
}

struct Process {
    // Closing the guard shell's stdin stops the server.
    guard: Child,
    pid: u32,
}

impl RedisServer {
    /// A plain server; panics with [`INSTALL_HINT`] if there is no `redis-server`.
    pub fn start() -> RedisServer {
        RedisServer::start_with(ServerOptions::new())
    }

    /// A server started with `options`; panics if it cannot start.
    pub fn start_with(options: ServerOptions) -> RedisServer {
        RedisServer::try_start(options).unwrap_or_else(|e| panic!("{e}"))
    }

    /// A server started with `options`, or why not.
    pub fn try_start(options: ServerOptions) -> Result<RedisServer, String> {
        // A missing binary fails the same on every port: say so at once.
        redis_server_binary()?;
        let mut last_error = String::new();
        // A port found free can be taken before the server binds it; try another.
        for _ in 0..20 {
            let port = free_port()?;
            let mut server = RedisServer {
                port,
                options: options.clone(),
                dir: scratch_dir(port)?,
                process: None,
            };
            match server.launch() {
                Ok(()) => return Ok(server),
                Err(error) => last_error = error,
            }
        }
        Err(format!(
            "redis-server did not start on 20 free ports: {last_error}"
        ))
    }

    /// The port it listens on (TLS only, for a TLS server).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A URL for it, without the password.
    pub fn url(&self) -> String {
        let scheme = if self.options.tls.is_some() {
            "rediss"
        } else {
            "redis"
        };
        format!("{scheme}://127.0.0.1:{}/", self.port)
    }

    /// A URL with the password, if it has one.
    pub fn url_with_password(&self) -> String {
        match &self.options.password {
            Some(password) => format!("redis://:{password}@127.0.0.1:{}/", self.port),
            None => self.url(),
        }
    }

    /// A plain redis-rs connection, for setting up and inspecting what a test wrote.
    pub fn raw(&self) -> redis::Connection {
        redis::Client::open(self.url_with_password())
            .and_then(|client| client.get_connection())
            .expect("raw connection to the test server")
    }

    /// Stops the server gracefully and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            drop(process.guard.stdin.take());
            let _ = process.guard.wait();
        }
    }

    /// Kills the server with SIGKILL, as a crash or an OOM killer would.
    pub fn kill(&mut self) {
        if let Some(mut process) = self.process.take() {
            let _ = Command::new("kill")
                .args(["-KILL", &process.pid.to_string()])
                .status();
            drop(process.guard.stdin.take());
            let _ = process.guard.wait();
        }
    }

    /// Stops the server and starts it again on the same port, with the same options. Without
    /// persistence it comes back empty, as a Redis that restarted without a disk does.
    pub fn restart(&mut self) {
        self.stop();
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            match self.launch() {
                Ok(()) => return,
                Err(error) if Instant::now() > deadline => panic!("restart: {error}"),
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    fn launch(&mut self) -> Result<(), String> {
        let binary = redis_server_binary()?;
        let mut args = vec![binary.display().to_string()];
        if let Some(monitor) = &self.options.sentinel {
            args.extend(self.sentinel_arguments(monitor)?);
        } else {
            args.extend(self.arguments());
        }
        let quoted: Vec<String> = args.iter().map(|a| shell_quote(a)).collect();
        let script = format!(
            "{} >/dev/null 2>&1 & pid=$!; echo $pid; read _; kill $pid 2>/dev/null; wait $pid",
            quoted.join(" ")
        );
        let mut guard = Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("spawn sh for redis-server: {e}"))?;
        let mut line = String::new();
        BufReader::new(guard.stdout.take().expect("piped stdout"))
            .read_line(&mut line)
            .map_err(|e| format!("read the server's pid: {e}"))?;
        let pid = line
            .trim()
            .parse()
            .map_err(|_| format!("no pid from the guard shell: {line:?}"))?;
        self.process = Some(Process { guard, pid });
        if self.wait_ready() {
            Ok(())
        } else {
            self.stop();
            Err(format!(
                "no answer on port {} within {READY_WITHIN:?}",
                self.port
            ))
        }
    }

    fn arguments(&self) -> Vec<String> {
        let port = self.port.to_string();
        let dir = self.dir.display().to_string();
        let mut args: Vec<String> = match &self.options.tls {
            None => vec!["--port".into(), port],
            Some(tls) => vec![
                "--port".into(),
                "0".into(),
                "--tls-port".into(),
                port,
                "--tls-cert-file".into(),
                tls.cert.display().to_string(),
                "--tls-key-file".into(),
                tls.key.display().to_string(),
                "--tls-ca-cert-file".into(),
                tls.ca.display().to_string(),
                "--tls-auth-clients".into(),
                "no".into(),
            ],
        };
        args.extend(
            [
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--loglevel",
                "warning",
                "--dir",
            ]
            .map(String::from),
        );
        args.push(dir);
        if let Some(password) = &self.options.password {
            args.extend(["--requirepass".to_owned(), password.clone()]);
        }
        args.extend(self.options.args.iter().cloned());
        args
    }

    /// A sentinel's arguments; its configuration file is written once, so a restarted
    /// sentinel keeps what it learned (sentinels rewrite their file).
    fn sentinel_arguments(&self, monitor: &Monitor) -> Result<Vec<String>, String> {
        let file = self.dir.join("sentinel.conf");
        if !file.exists() {
            let conf = format!(
                "sentinel monitor {name} 127.0.0.1 {port} {quorum}\n\
                 sentinel down-after-milliseconds {name} {down}\n\
                 sentinel failover-timeout {name} 5000\n\
                 sentinel parallel-syncs {name} 1\n",
                name = monitor.master_name,
                port = monitor.master_port,
                quorum = monitor.quorum,
                down = monitor.down_after.as_millis(),
            );
            std::fs::write(&file, conf).map_err(|e| format!("write {}: {e}", file.display()))?;
        }
        Ok(vec![
            file.display().to_string(),
            "--sentinel".into(),
            "--port".into(),
            self.port.to_string(),
            "--bind".into(),
            "127.0.0.1".into(),
            "--dir".into(),
            self.dir.display().to_string(),
            "--loglevel".into(),
            "warning".into(),
        ])
    }

    fn wait_ready(&self) -> bool {
        let deadline = Instant::now() + READY_WITHIN;
        while Instant::now() < deadline {
            if self.answers() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    fn answers(&self) -> bool {
        if self.options.tls.is_some() {
            // The harness' redis client has no TLS; a TLS server that accepts is ready.
            return TcpStream::connect(("127.0.0.1", self.port)).is_ok();
        }
        redis::Client::open(self.url_with_password())
            .and_then(|c| c.get_connection_with_timeout(Duration::from_millis(200)))
            .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c))
            .is_ok()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn redis_server_binary() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("REDIS_SERVER") {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!(
                "REDIS_SERVER={}: no such file (unset it to use redis-server from PATH)",
                path.display()
            ))
        };
    }
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("redis-server"))
                .find(|candidate| candidate.is_file())
        })
        .ok_or_else(|| INSTALL_HINT.to_owned())
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// A working directory of the server's own (for `--dir`), so servers never share files.
fn scratch_dir(port: u16) -> Result<PathBuf, String> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "redis-test-{}-{port}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    Ok(dir)
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restarted_server_comes_back_empty_on_its_port() {
        let mut server = RedisServer::start();
        let port = server.port();
        redis::cmd("SET")
            .arg("k")
            .arg("v")
            .query::<()>(&mut server.raw())
            .unwrap();
        server.restart();
        assert_eq!(server.port(), port);
        let value: Option<String> = redis::cmd("GET").arg("k").query(&mut server.raw()).unwrap();
        assert_eq!(value, None);
    }

    #[test]
    fn a_password_is_required_and_used_for_readiness() {
        let server = RedisServer::start_with(ServerOptions::new().password("pw-secret"));
        let denied = redis::Client::open(server.url())
            .and_then(|c| c.get_connection())
            .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c));
        assert!(denied.is_err());
        let pong: String = redis::cmd("PING").query(&mut server.raw()).unwrap();
        assert_eq!(pong, "PONG");
    }

    #[test]
    fn a_killed_server_stops_answering() {
        let mut server = RedisServer::start();
        server.kill();
        assert!(!server.answers());
    }
}
