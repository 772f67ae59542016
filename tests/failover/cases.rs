//! Failover cases written once: `#[maybe]` and `.await` are stripped in the blocking copy.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use storage::{Error, ProxyTarget, StorageConfig, WatchEvent};

use crate::{FeedSeen, FEED_CATCH_UP};
use test_harness::{RedisCluster, RedisServer, SentinelGroup, ServerOptions, MASTER_NAME};

use super::{
    follow_feed, join_feed, join_probe, maybe, maybe_test, probe_latency, FeedFollower, Storage,
    MODE,
};

/// How long a run may take before it counts as not recovering.
const GIVE_UP_AFTER: Duration = Duration::from_secs(40);
/// Writes before the kill, and after the first write that succeeds again.
const WRITES_AROUND: usize = 20;

/// What one run under a failover saw.
#[derive(Debug, Default)]
struct Run {
    acknowledged: Vec<usize>,
    errors: Vec<String>,
    /// From the kill to the new master's announcement (or promotion).
    promoted_after: Option<Duration>,
    /// From the kill to the first write that succeeded after it.
    writes_again_after: Option<Duration>,
}

impl Run {
    fn report(&self, topology: &str, waits: u32, lost: usize) -> String {
        let ms = |d: Option<Duration>| d.map_or("never".to_owned(), |d| d.as_millis().to_string());
        let after_promotion = match (self.writes_again_after, self.promoted_after) {
            (Some(again), Some(promoted)) => again.saturating_sub(promoted).as_millis().to_string(),
            _ => "n/a".to_owned(),
        };
        format!(
            "FAILOVER topology={topology} mode={MODE} min_replicas={waits}: promoted after {} ms, \
             writes again after {} ms ({after_promotion} ms after promotion), errors seen {}, \
             acknowledged {}, acknowledged and lost {lost}; errors: {:?}",
            ms(self.promoted_after),
            ms(self.writes_again_after),
            self.errors.len(),
            self.acknowledged.len(),
            self.errors.iter().take(3).collect::<Vec<_>>(),
        )
    }
}

/// Whether `error` is one a caller may meet during a failover: every kind is typed.
fn is_failover_error(error: &Error) -> bool {
    error.is_connection_error()
        || error.is_timeout()
        || error.is_read_only()
        || error.is_outcome_unknown()
        || error.is_not_replicated()
}

fn proxy(i: usize) -> ProxyTarget {
    ProxyTarget::new(format!("w{i}.example"), "http://backend:8080")
}

/// Milliseconds since `origin`, for a timestamp shared with a watching thread.
fn millis_since(origin: Instant) -> u64 {
    u64::try_from(origin.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Watches `promoted` from a thread and records when it first holds, in ms after `origin`.
fn watch_promotion(
    origin: Instant,
    promoted: impl Fn() -> bool + Send + 'static,
) -> (Arc<AtomicU64>, Arc<AtomicBool>) {
    let at = Arc::new(AtomicU64::new(u64::MAX));
    let stop = Arc::new(AtomicBool::new(false));
    let (seen, stopped) = (Arc::clone(&at), Arc::clone(&stop));
    std::thread::spawn(move || {
        while !stopped.load(Ordering::Relaxed) {
            if promoted() {
                seen.store(millis_since(origin), Ordering::Relaxed);
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    (at, stop)
}

/// Writes a proxy after another; kills the master with `kill` after `WRITES_AROUND`
/// acknowledged writes, calls `after_promotion` once `promoted` holds, and stops
/// `WRITES_AROUND` acknowledged writes after the first success after the kill.
#[maybe]
async fn write_through_failover(
    storage: &Storage,
    kill: impl FnOnce(),
    promoted: impl Fn() -> bool + Send + 'static,
    after_promotion: impl FnOnce(),
) -> Run {
    let mut run = Run::default();
    let mut kill = Some(kill);
    let mut promoted = Some(promoted);
    let mut after_promotion = Some(after_promotion);
    let mut killed_at: Option<Instant> = None;
    let mut promotion: Option<Arc<AtomicU64>> = None;
    let mut watcher_stop: Option<Arc<AtomicBool>> = None;
    let mut since_recovery = 0;
    let started = Instant::now();
    let mut i = 0;
    while since_recovery < WRITES_AROUND && started.elapsed() < GIVE_UP_AFTER {
        if run.acknowledged.len() == WRITES_AROUND {
            if let Some(kill) = kill.take() {
                let origin = Instant::now();
                kill();
                killed_at = Some(origin);
                let promoted = promoted.take().expect("one kill");
                let (at, stop) = watch_promotion(origin, promoted);
                promotion = Some(at);
                watcher_stop = Some(stop);
            }
        }
        let promoted_ms = promotion
            .as_ref()
            .map(|at| at.load(Ordering::Relaxed))
            .filter(|ms| *ms != u64::MAX);
        if promoted_ms.is_some() {
            if let Some(after) = after_promotion.take() {
                after();
            }
        }
        match storage.store_proxy_target(proxy(i)).await {
            Ok(_) => {
                run.acknowledged.push(i);
                if let Some(killed_at) = killed_at {
                    if run.writes_again_after.is_none() {
                        run.writes_again_after = Some(killed_at.elapsed());
                    }
                    since_recovery += 1;
                }
            }
            Err(error) => {
                assert!(
                    is_failover_error(&error),
                    "untyped failover error: {error:?}"
                );
                run.errors.push(error.to_string());
            }
        }
        i += 1;
    }
    if let Some(stop) = watcher_stop {
        stop.store(true, Ordering::Relaxed);
    }
    run.promoted_after = promotion
        .map(|at| at.load(Ordering::Relaxed))
        .filter(|ms| *ms != u64::MAX)
        .map(Duration::from_millis);
    run
}

/// What the sentinel on `port` announces as the master's port.
fn announced_master(port: u16) -> Option<u16> {
    let reply: Option<(String, String)> = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
        .and_then(|c| c.get_connection_with_timeout(Duration::from_millis(300)))
        .and_then(|mut c| {
            redis::cmd("SENTINEL")
                .arg("get-master-addr-by-name")
                .arg(MASTER_NAME)
                .query(&mut c)
        })
        .ok()?;
    reply?.1.parse().ok()
}

/// Whether the server on `port` says it is a master.
fn is_master(port: u16) -> bool {
    redis::Client::open(format!("redis://127.0.0.1:{port}/"))
        .and_then(|c| c.get_connection_with_timeout(Duration::from_millis(300)))
        .and_then(|mut c| redis::cmd("ROLE").query::<Vec<redis::Value>>(&mut c))
        .ok()
        .and_then(|role| role.into_iter().next())
        .and_then(|role| redis::from_redis_value::<String>(role).ok())
        .as_deref()
        == Some("master")
}

/// The acknowledged writes of `run` that the storage no longer finds.
#[maybe]
async fn lost_writes(storage: &Storage, run: &Run) -> usize {
    let mut lost = 0;
    for i in &run.acknowledged {
        let found = storage
            .get_proxy_target(&format!("w{i}.example"))
            .await
            .expect("read after the failover");
        lost += usize::from(found.is_none());
    }
    lost
}

/// Whether a write after the failover reaches `live`, the storage's live configuration made
/// before it, within 10 s.
#[maybe]
async fn reaches_live_configuration(storage: &Storage, live: &super::LiveConfig) -> bool {
    storage
        .store_proxy_target(ProxyTarget::new("after.example", "http://backend:8080"))
        .await
        .expect("a write after the failover");
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if live.snapshot().proxy("after.example").is_some() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

/// Prints what `run` measured (`extra` appended) and asserts what a failover must leave:
/// a promotion, writes again, a live configuration that followed, and with `min_replicas`
/// no acknowledged write lost.
#[maybe]
async fn assert_recovered(
    storage: &Storage,
    live: &super::LiveConfig,
    run: &Run,
    topology: &str,
    min_replicas: u32,
    extra: &str,
) {
    let lost = lost_writes(storage, run).await;
    println!("{}{extra}", run.report(topology, min_replicas, lost));
    assert!(run.promoted_after.is_some(), "no promotion: {run:?}");
    assert!(
        run.writes_again_after.is_some(),
        "writes never resumed: {run:?}"
    );
    if min_replicas == 0 {
        let followed = reaches_live_configuration(storage, live).await;
        assert!(
            followed,
            "the live configuration did not follow the failover"
        );
    } else {
        assert_eq!(
            lost, 0,
            "acknowledged writes lost although a replica confirmed each"
        );
    }
}

/// Follows `watcher` until it reaches `until` (set once the writes stop), for at most
/// `FEED_CATCH_UP` after that; what it saw, or the first error it returned.
#[maybe]
pub(super) async fn follow_until(
    mut watcher: super::Watcher,
    until: Arc<AtomicU64>,
) -> Result<FeedSeen, String> {
    let mut seen = FeedSeen::default();
    let mut catching_up: Option<Instant> = None;
    loop {
        let target = until.load(Ordering::Relaxed);
        if target != u64::MAX {
            if watcher.revision() >= target {
                return Ok(seen);
            }
            if catching_up.get_or_insert_with(Instant::now).elapsed() > FEED_CATCH_UP {
                return Err(format!("stuck at {} of {target}", watcher.revision()));
            }
        }
        match watcher.poll_event().await {
            Ok(Some(WatchEvent::Change(_))) => seen.changes += 1,
            Ok(Some(WatchEvent::Resync { .. })) => seen.resyncs += 1,
            Ok(None) => {}
            Err(error) => return Err(error.to_string()),
        }
    }
}

/// A watcher from the store's revision now, followed until `feed_caught_up` says where to
/// stop.
#[maybe]
async fn watch_through(storage: &Storage) -> (Arc<AtomicU64>, FeedFollower) {
    let from = storage.revision().await.expect("revision");
    let watcher = storage.watch(from).await.expect("watch");
    let until = Arc::new(AtomicU64::new(u64::MAX));
    (Arc::clone(&until), follow_feed(watcher, until))
}

/// Asserts that the watcher kept through the failover returned no error and reached the
/// store's last revision.
#[maybe]
async fn assert_feed_followed(storage: &Storage, until: &AtomicU64, follower: FeedFollower) {
    let last = storage
        .revision()
        .await
        .expect("revision after the failover");
    until.store(last, Ordering::Relaxed);
    let seen = join_feed(follower).await;
    println!("FAILOVER mode={MODE} watcher: {seen:?}");
    let seen = seen.expect("the watcher returned an error during the failover");
    assert!(seen.changes + seen.resyncs > 0, "the watcher saw nothing");
}

fn failover_config(url: &str, min_replicas: u32) -> StorageConfig {
    let config = StorageConfig::new(url)
        .expect("failover URL")
        .with_key_prefix("{fo}:")
        .with_failover_wait(Duration::from_secs(15))
        .with_response_timeout(Duration::from_secs(2))
        .with_connect_timeout(Duration::from_secs(1));
    if min_replicas == 0 {
        config
    } else {
        config.with_min_replicas(min_replicas, Duration::from_secs(1))
    }
}

#[maybe]
async fn sentinel_master_killed(min_replicas: u32) {
    let group = std::cell::RefCell::new(SentinelGroup::start(3));
    let sentinels = group.borrow().sentinel_ports();
    let hosts: Vec<String> = sentinels.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    let url = format!("redis+sentinel://{}/{MASTER_NAME}", hosts.join(","));
    let storage = Storage::connect(failover_config(&url, min_replicas))
        .await
        .expect("connect through the sentinels");
    let replica = group.borrow_mut().first_replica().port();
    let live = storage.live_config().await.expect("live configuration");
    let (until, follower) = watch_through(&storage).await;
    let run = write_through_failover(
        &storage,
        || group.borrow_mut().first_master().kill(),
        move || announced_master(sentinels[0]) == Some(replica),
        || {
            if min_replicas > 0 {
                // The old master comes back and the sentinels make it the new replica.
                group.borrow_mut().first_master().restart();
            }
        },
    )
    .await;
    assert_recovered(&storage, &live, &run, "sentinel", min_replicas, "").await;
    assert_feed_followed(&storage, &until, follower).await;
    let stats = storage.stats();
    assert!(stats.failovers >= 1, "the new master is counted: {stats:?}");
    assert!(stats.reconnects >= 1, "{stats:?}");
    let health = storage.health().await;
    assert_eq!(
        health.master,
        Some(format!("127.0.0.1:{replica}")),
        "health names the master in use"
    );
}

#[maybe]
#[maybe_test]
async fn a_storage_follows_the_sentinels_to_the_new_master() {
    sentinel_master_killed(0).await;
}

#[maybe]
#[maybe_test]
async fn writes_confirmed_by_a_replica_survive_a_sentinel_failover() {
    sentinel_master_killed(1).await;
}

#[maybe]
async fn cluster_master_killed(min_replicas: u32) {
    let cluster = std::cell::RefCell::new(RedisCluster::start(3, 1));
    let hosts: Vec<String> = cluster
        .borrow()
        .nodes()
        .iter()
        .map(|node| format!("127.0.0.1:{}", node.port()))
        .collect();
    let url = format!("redis+cluster://{}", hosts.join(","));
    let config = failover_config(&url, min_replicas);
    let response_timeout = config.response_timeout;
    let storage = Storage::connect(config)
        .await
        .expect("connect to the cluster");
    let (master, replicas) = cluster.borrow().serving("{fo}:anything");
    let replica = replicas[0];
    // An access token on another master: calls to it must not stall behind the failover.
    let keys = storage.keys().clone();
    let jti = (0..)
        .map(|n| format!("probe-{n}"))
        .find(|jti| cluster.borrow().serving(&keys.oauth_token(jti)).0 != master)
        .expect("a jti on another master");
    let now = storage::Timestamp::now();
    storage
        .store_access_token(storage::oauth::AccessToken {
            jti: jti.clone(),
            client_id: "c".into(),
            user: "u".into(),
            scope: "mcp".into(),
            issued_at: now.clone(),
            expires_at: storage::Timestamp::from_utc(now.instant() + chrono::Duration::hours(1)),
            family: None,
            extra: Default::default(),
        })
        .await
        .expect("store the probe token");
    let live = storage.live_config().await.expect("live configuration");
    let stop = Arc::new(AtomicBool::new(false));
    let probe = probe_latency(storage.clone(), jti, Arc::clone(&stop));
    let (until, follower) = watch_through(&storage).await;
    let run = write_through_failover(
        &storage,
        || cluster.borrow_mut().node_mut(master).kill(),
        move || is_master(replica),
        || {
            if min_replicas > 0 {
                // The old master comes back and rejoins as the new master's replica.
                cluster.borrow_mut().node_mut(master).restart();
            }
        },
    )
    .await;
    stop.store(true, Ordering::Relaxed);
    let slowest_elsewhere = join_probe(probe).await;
    let slowest = format!(
        "; slowest call to another master {} ms",
        slowest_elsewhere.as_millis()
    );
    assert_recovered(&storage, &live, &run, "cluster", min_replicas, &slowest).await;
    assert_feed_followed(&storage, &until, follower).await;
    assert!(
        slowest_elsewhere <= response_timeout,
        "a call to another master took {slowest_elsewhere:?}"
    );
}

#[maybe]
#[maybe_test]
async fn a_storage_rides_through_a_cluster_failover() {
    cluster_master_killed(0).await;
}

#[maybe]
#[maybe_test]
async fn writes_confirmed_by_a_replica_survive_a_cluster_failover() {
    cluster_master_killed(1).await;
}

/// Pauses the server's writes for `pause`, then after `cut_after` kills every client
/// connection but its own: a write sent meanwhile is cut off with no answer.
fn cut_off_writes(
    server: &RedisServer,
    pause: Duration,
    cut_after: Duration,
) -> std::thread::JoinHandle<()> {
    let mut raw = server.raw();
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(u64::try_from(pause.as_millis()).unwrap())
        .arg("WRITE")
        .query(&mut raw)
        .unwrap();
    std::thread::spawn(move || {
        std::thread::sleep(cut_after);
        let _: u64 = redis::cmd("CLIENT")
            .arg("KILL")
            .arg("TYPE")
            .arg("normal")
            .arg("SKIPME")
            .arg("yes")
            .query(&mut raw)
            .unwrap();
    })
}

/// A write that may have run when its connection died is not sent again: the caller hears
/// "outcome unknown". An idempotent write cut off the same way is sent again.
#[maybe]
#[maybe_test]
async fn a_write_cut_off_after_it_was_sent_reports_an_unknown_outcome() {
    let server = RedisServer::start_with(ServerOptions::new());
    let config = StorageConfig::new(&server.url())
        .unwrap()
        .with_key_prefix("{unknown}:");
    let storage = Storage::connect(config).await.unwrap();
    let grant = storage::oauth::CodeGrant {
        client_id: "c".into(),
        redirect_uri: "https://app.example/cb".into(),
        scope: "mcp".into(),
        user: "u".into(),
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
        code_challenge_method: "S256".into(),
    };
    let code = storage.issue_code(&grant).await.unwrap();

    let cut = cut_off_writes(
        &server,
        Duration::from_millis(1500),
        Duration::from_millis(300),
    );
    let consumed = storage
        .consume_code(code.expose(), "c", "https://app.example/cb")
        .await;
    cut.join().unwrap();
    let error = consumed.expect_err("the connection died under the call");
    assert!(error.is_outcome_unknown(), "{error:?}");
    assert_eq!(storage.stats().outcome_unknown, 1, "the refusal is counted");
    let resent = storage.stats().resends;
    assert!(error.to_string().contains("outcome is unknown"), "{error}");

    let cut = cut_off_writes(
        &server,
        Duration::from_millis(1500),
        Duration::from_millis(300),
    );
    let stored = storage.store_proxy_target(proxy(1)).await;
    cut.join().unwrap();
    assert!(
        stored.is_ok(),
        "an idempotent write is sent again: {stored:?}"
    );
    assert!(storage.stats().resends > resent, "the resend is counted");
    let found = storage.get_proxy_target("w1.example").await.unwrap();
    assert!(found.is_some(), "the write sent again is there");
}

/// A role swap (`SENTINEL FAILOVER`, both servers alive): a storage configured through the
/// sentinels follows it; one configured with the old master's address gets a typed
/// read-only error, not a connection error.
#[maybe]
#[maybe_test]
async fn a_role_swap_is_followed_and_the_old_address_answers_read_only() {
    let mut group = SentinelGroup::start(3);
    let sentinels = group.sentinel_ports();
    let hosts: Vec<String> = sentinels.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    let url = format!("redis+sentinel://{}/{MASTER_NAME}", hosts.join(","));
    let following = Storage::connect(failover_config(&url, 0)).await.unwrap();
    let old_master = group.first_master().url();
    let fixed = Storage::connect(failover_config(&old_master, 0))
        .await
        .unwrap();
    following.store_proxy_target(proxy(0)).await.unwrap();

    let replica = group.first_replica().port();
    let old_port = group.first_master().port();
    let _: () = redis::cmd("SENTINEL")
        .arg("FAILOVER")
        .arg(MASTER_NAME)
        .query(&mut redis::Client::open(format!("redis://127.0.0.1:{}/", sentinels[0])).unwrap())
        .unwrap();
    let deadline = Instant::now() + GIVE_UP_AFTER;
    while announced_master(sentinels[0]) != Some(replica) || is_master(old_port) {
        assert!(Instant::now() < deadline, "the roles did not swap");
        std::thread::sleep(Duration::from_millis(20));
    }

    following.store_proxy_target(proxy(1)).await.unwrap();
    let found = following.get_proxy_target("w1.example").await.unwrap();
    assert!(found.is_some(), "written to the new master and read back");
    let refused = fixed.store_proxy_target(proxy(2)).await.unwrap_err();
    assert!(refused.is_read_only(), "{refused:?}");
    assert!(!refused.is_connection_error(), "{refused:?}");
}

/// How long the configuration's master is paused.
const PAUSE: Duration = Duration::from_secs(8);

/// One call, one deadline, where a failover may be under way: the configuration's master
/// is paused (`CLIENT PAUSE ALL`), and a read and a write each end within
/// `StorageConfig::call_timeout` (plus what a loaded machine adds), answered or not.
#[maybe]
async fn assert_paused_master_keeps_the_call_bound(
    url: &str,
    master: &RedisServer,
    topology: &str,
) {
    let config = StorageConfig::new(url)
        .expect("URL")
        .with_key_prefix("{fo}:")
        .with_failover_wait(Duration::from_secs(2))
        .with_response_timeout(Duration::from_secs(1))
        .with_connect_timeout(Duration::from_secs(1))
        .with_defaults_check_interval(Duration::from_millis(100));
    let storage = Storage::connect(config.clone()).await.expect("connect");
    std::thread::sleep(Duration::from_millis(150));
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(PAUSE.as_millis().to_string())
        .arg("ALL")
        .query(&mut master.raw())
        .expect("pause the master");
    let bound = config.call_timeout() + Duration::from_secs(1);
    // redis-rs' sync cluster and sentinel clients check a node they connect to without a
    // timeout (StorageConfig::call_timeout says so): in the blocking mode a call that
    // reconnects (on a cluster, the one after a timed-out call; through Sentinel, a retry
    // of the first) waits there for the pause to end.
    let (read_bound, write_bound) = match (MODE, topology) {
        ("blocking", "cluster") => (bound, PAUSE + bound),
        ("blocking", _) => (PAUSE + bound, PAUSE + bound),
        _ => (bound, bound),
    };
    let started = Instant::now();
    let read = storage.get_proxy_target("localhost").await;
    let read_took = started.elapsed();
    let started = Instant::now();
    let write = storage.store_proxy_target(proxy(0)).await;
    let write_took = started.elapsed();
    let _: () = redis::cmd("CLIENT")
        .arg("UNPAUSE")
        .query(&mut master.raw())
        .expect("unpause");
    println!(
        "DEADLINE topology={topology} mode={MODE}: read {read_took:?} ({}), write {write_took:?} \
         ({}), bound {:?}",
        if read.is_ok() { "answered" } else { "failed" },
        if write.is_ok() { "answered" } else { "failed" },
        config.call_timeout()
    );
    for (what, took, error, bound) in [
        ("read", read_took, read.err(), read_bound),
        ("write", write_took, write.err(), write_bound),
    ] {
        assert!(took <= bound, "{topology} {what}: {took:?} past {bound:?}");
        if let Some(error) = error {
            assert!(is_failover_error(&error), "{topology} {what}: {error:?}");
        }
    }
}

#[maybe]
#[maybe_test]
async fn a_paused_master_keeps_each_call_within_its_deadline_on_a_cluster_and_through_sentinel() {
    let cluster = RedisCluster::start(3, 1);
    let hosts: Vec<String> = cluster
        .nodes()
        .iter()
        .map(|node| format!("127.0.0.1:{}", node.port()))
        .collect();
    let (master, _) = cluster.serving("{fo}:anything");
    let master = cluster
        .nodes()
        .iter()
        .find(|node| node.port() == master)
        .expect("the master's node");
    let url = format!("redis+cluster://{}", hosts.join(","));
    assert_paused_master_keeps_the_call_bound(&url, master, "cluster").await;

    let mut group = SentinelGroup::start(3);
    let sentinels: Vec<String> = group
        .sentinel_ports()
        .iter()
        .map(|p| format!("127.0.0.1:{p}"))
        .collect();
    let url = format!("redis+sentinel://{}/{MASTER_NAME}", sentinels.join(","));
    assert_paused_master_keeps_the_call_bound(&url, group.first_master(), "sentinel").await;
}
