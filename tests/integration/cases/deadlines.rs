//! One call, one deadline: whatever a call does inside (a defaults re-check, a resend on a
//! new connection, a reconnection), it ends within `StorageConfig::call_timeout`, in both
//! modes, against a paused server and against one that accepts and never answers.

use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{connect, maybe, maybe_test, pause, Storage};
use crate::harness::{RedisServer, ServerOptions};
use storage::{Error, ProxyTarget, StorageConfig};

/// What a loaded 2-core machine may add to a bound: scheduling, not waiting.
const MARGIN: Duration = Duration::from_millis(700);

fn config(url: &str) -> StorageConfig {
    StorageConfig::new(url)
        .unwrap()
        .with_connect_timeout(Duration::from_secs(1))
        .with_response_timeout(Duration::from_secs(1))
        .with_defaults_check_interval(Duration::from_millis(100))
}

/// Asserts that a paused server cost `started`'s call one wait for an answer, not one per
/// step inside it.
fn assert_one_wait(what: &str, config: &StorageConfig, started: Instant) {
    let elapsed = started.elapsed();
    assert!(
        elapsed <= config.response_timeout + MARGIN,
        "{what}: {elapsed:?}, more than one wait of {:?}",
        config.response_timeout
    );
}

/// Asserts that `result` is a timeout or connection failure that came within the bound.
fn assert_within<T: std::fmt::Debug>(
    what: &str,
    config: &StorageConfig,
    started: Instant,
    result: storage::Result<T>,
) {
    let elapsed = started.elapsed();
    eprintln!("{what}: {elapsed:?} (bound {:?})", config.call_timeout());
    assert!(
        matches!(
            result,
            Err(Error::Timeout { .. } | Error::Connection { .. })
        ),
        "{what}: {result:?}"
    );
    assert!(
        elapsed <= config.call_timeout() + MARGIN,
        "{what}: {elapsed:?} against a bound of {:?}",
        config.call_timeout()
    );
}

fn pause_server(server: &RedisServer, millis: u64) {
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(millis)
        .arg("ALL")
        .query(&mut server.raw())
        .unwrap();
}

#[maybe]
#[maybe_test]
async fn a_paused_server_gets_one_deadline_per_call_with_its_recheck_and_resend() {
    let server = RedisServer::start();
    let config = config(&server.url());
    assert_eq!(config.call_timeout(), Duration::from_secs(2));
    let storage = connect(config.clone()).await;
    // The defaults re-check is due: it shares the call's deadline.
    pause(Duration::from_millis(150)).await;
    pause_server(&server, 10_000);
    let started = Instant::now();
    let read = storage.get_proxy_target("localhost").await;
    assert_within("a read", &config, started, read);
    assert_one_wait("a read", &config, started);
    let started = Instant::now();
    let write = storage
        .store_proxy_target(ProxyTarget::new("p.example", "http://b:1"))
        .await;
    assert_within("a write", &config, started, write);
    assert_one_wait("a write", &config, started);
    // Right after a write that timed out, on a new connection, with a re-check due.
    let started = Instant::now();
    let read = storage.get_proxy_target("localhost").await;
    assert_within("a read after a timed-out write", &config, started, read);
    assert_one_wait("a read after a timed-out write", &config, started);
    let _: () = redis::cmd("CLIENT")
        .arg("UNPAUSE")
        .query(&mut server.raw())
        .unwrap();
    let back = storage.get_proxy_target("localhost").await.unwrap();
    assert!(back.is_some(), "answers again once the pause is lifted");
}

/// A listener that accepts connections and never answers, until dropped.
struct HungServer {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl HungServer {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            let until = Instant::now() + Duration::from_secs(60);
            while !stopping.load(Ordering::Relaxed) && Instant::now() < until {
                match listener.accept() {
                    Ok((stream, _)) => held.push(stream),
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        HungServer { port, stop }
    }
}

impl Drop for HungServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[maybe]
#[maybe_test]
async fn a_server_that_never_answers_costs_one_wait_in_both_modes() {
    let hung = HungServer::start();
    let config = config(&format!("redis://127.0.0.1:{}/", hung.port));
    let started = Instant::now();
    let result = Storage::connect(config.clone()).await;
    assert_within("connect", &config, started, result);
    // The same in both modes: one wait for an answer, not one per setup command.
    let one_wait = config.connect_timeout.max(config.response_timeout);
    assert!(
        started.elapsed() >= one_wait - Duration::from_millis(100)
            && started.elapsed() <= one_wait + MARGIN,
        "{:?} where one wait is {one_wait:?}",
        started.elapsed()
    );
    let storage = Storage::new(config.clone()).unwrap();
    let started = Instant::now();
    let result = storage.get_proxy_target("localhost").await;
    assert_within("a first call", &config, started, result);
}

#[maybe]
#[maybe_test]
async fn a_server_loading_its_data_is_waited_for_within_the_call() {
    let server = RedisServer::start_with(ServerOptions::new().args([
        "--enable-debug-command",
        "yes",
        "--key-load-delay",
        "400",
        "--loading-process-events-interval-bytes",
        "1024",
    ]));
    let config = config(&server.url()).with_response_timeout(Duration::from_secs(2));
    let storage = connect(config.clone()).await;
    let _: () = redis::cmd("DEBUG")
        .arg(&["POPULATE", "2000"])
        .query(&mut server.raw())
        .unwrap();
    // DEBUG RELOAD saves, then loads for about 2000 × 400 µs, answering `LOADING` to every
    // other client meanwhile (it serves them every KiB it loads).
    let mut raw = server.raw();
    let reload = std::thread::spawn(move || {
        redis::cmd("DEBUG")
            .arg("RELOAD")
            .query::<()>(&mut raw)
            .unwrap()
    });
    let mut probe = server.raw();
    let loading_seen = (0..200).any(|_| {
        std::thread::sleep(Duration::from_millis(5));
        matches!(
            redis::cmd("PING").query::<String>(&mut probe),
            Err(e) if e.code() == Some("LOADING")
        )
    });
    assert!(loading_seen, "the server never said LOADING");
    let started = Instant::now();
    let read = storage.get_proxy_target("localhost").await;
    let elapsed = started.elapsed();
    reload.join().unwrap();
    assert!(read.unwrap().is_some(), "answered once loaded");
    assert!(elapsed <= config.call_timeout() + MARGIN, "{elapsed:?}");
}
