//! Connection settings, with a URL type that cannot leak its password.
//!
//! The URL is the one place a Redis password lives in this crate; wrapping it means `Debug`,
//! `Display` and every error built from a config print `redis://user:***@host` instead.

use std::fmt;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::keys::KeySpace;
use crate::model::validate;
use crate::topology::{check_cluster_prefix, ConnectionSettings, Nodes, Topology};

/// Where Redis is, as a URL whose password is hidden when printed: `redis://`, `rediss://`
/// or `unix://` for one server, `redis+cluster://` for a Redis Cluster and
/// `redis+sentinel://` for a master found through Sentinel (see [`Topology`]).
#[derive(Clone, PartialEq, Eq)]
pub struct RedisUrl {
    text: String,
    nodes: Nodes,
}

impl RedisUrl {
    /// Parses and checks the scheme; the error never echoes the URL.
    pub fn parse(text: &str) -> Result<Self> {
        Ok(RedisUrl {
            text: text.to_owned(),
            nodes: Nodes::parse(text)?,
        })
    }

    /// The URL with its password, for handing to a Redis client. Never log it.
    pub fn expose(&self) -> &str {
        &self.text
    }

    /// Each node's URL, with its password: the server, the cluster's seeds, or the
    /// sentinels. For tools that talk to the nodes themselves. Never log them.
    pub fn expose_nodes(&self) -> Vec<&str> {
        self.nodes.urls.iter().map(url::Url::as_str).collect()
    }

    /// The master's name, for a sentinel URL.
    pub fn master_name(&self) -> Option<&str> {
        self.nodes.master.as_ref().map(|(name, _)| name.as_str())
    }

    /// For a sentinel URL: what connecting to the master needs (credentials, database),
    /// as a URL with the placeholder host `master`. Never log it.
    pub fn expose_master_settings(&self) -> Option<&str> {
        self.nodes.master.as_ref().map(|(_, url)| url.as_str())
    }

    /// Which kind of deployment the URL names.
    pub fn topology(&self) -> Topology {
        self.nodes.topology
    }

    pub(crate) fn nodes(&self) -> &Nodes {
        &self.nodes
    }

    /// The same URL with `password` as its password, replacing any it had: in the
    /// authority (`redis://user:password@host`, every node of a cluster or sentinel URL) or,
    /// for a unix socket, as the `pass` query parameter. For a password kept out of the URL,
    /// and so out of process listings and shell history.
    ///
    /// ```
    /// let url = storage::RedisUrl::parse("redis+cluster://10.0.0.1:7000,10.0.0.2:7000")?
    ///     .with_password("s3cret/pw")?;
    /// assert_eq!(url.to_string(), "redis+cluster://:***@10.0.0.1:7000,10.0.0.2:7000");
    /// assert_eq!(url.expose_nodes()[1], "redis://:s3cret%2Fpw@10.0.0.2:7000");
    /// # Ok::<(), storage::Error>(())
    /// ```
    pub fn with_password(&self, password: &str) -> Result<Self> {
        let refused = || Error::invalid("url", "cannot carry a password");
        if self.nodes.topology == Topology::Standalone {
            let mut url = self.nodes.urls[0].clone();
            if url.scheme().ends_with("unix") {
                let pairs: Vec<(String, String)> = url
                    .query_pairs()
                    .filter(|(name, _)| !is_password_param(name))
                    .map(|(name, value)| (name.into_owned(), value.into_owned()))
                    .collect();
                url.query_pairs_mut()
                    .clear()
                    .extend_pairs(pairs)
                    .append_pair("pass", password);
            } else {
                url.set_password(Some(password)).map_err(|()| refused())?;
            }
            return RedisUrl::parse(url.as_str());
        }
        let (scheme, rest) = self.text.split_once("://").ok_or_else(refused)?;
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        let (user, hosts) = match authority.rsplit_once('@') {
            Some((credentials, hosts)) => {
                (credentials.split(':').next().unwrap_or_default(), hosts)
            }
            None => ("", authority),
        };
        // The url crate percent-encodes a password as a URL's userinfo needs.
        let mut encoder = url::Url::parse("redis://host").map_err(|_| refused())?;
        encoder
            .set_password(Some(password))
            .map_err(|()| refused())?;
        let encoded = encoder.password().unwrap_or_default();
        RedisUrl::parse(&format!("{scheme}://{user}:{encoded}@{hosts}{tail}"))
    }
}

impl fmt::Display for RedisUrl {
    /// The URL with its password replaced by `***`: in the authority (`redis://:pw@host`)
    /// and in the query, where unix-socket URLs carry it (`unix:///path?pass=pw`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.nodes.topology != Topology::Standalone {
            return f.write_str(&mask_authority(&self.text));
        }
        let mut shown = self.nodes.urls[0].clone();
        if shown.password().is_some() {
            // Cannot fail: the URL already has a password, hence a host.
            let _ = shown.set_password(Some("***"));
        }
        if shown
            .query_pairs()
            .any(|(name, _)| is_password_param(&name))
        {
            let pairs: Vec<(String, String)> = shown
                .query_pairs()
                .map(|(name, value)| {
                    let value = if is_password_param(&name) {
                        "***".to_owned()
                    } else {
                        value.into_owned()
                    };
                    (name.into_owned(), value)
                })
                .collect();
            shown.query_pairs_mut().clear().extend_pairs(pairs);
        }
        f.write_str(shown.as_str())
    }
}

/// A multi-host URL with the password of its `user:password@` part replaced by `***`.
fn mask_authority(text: &str) -> String {
    let Some((scheme, rest)) = text.split_once("://") else {
        return "***".to_owned();
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    match authority.rsplit_once('@') {
        Some((credentials, hosts)) => {
            let user = credentials.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{hosts}{tail}")
        }
        None => text.to_owned(),
    }
}

/// Query parameters that carry a password in the URLs redis-rs accepts.
fn is_password_param(name: &str) -> bool {
    matches!(name, "pass" | "password")
}

impl fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RedisUrl({self})")
    }
}

/// How to reach Redis and where the gateway's keys live.
///
/// ```
/// use std::time::Duration;
/// use storage::StorageConfig;
///
/// let config = StorageConfig::new("redis://:hunter2@127.0.0.1:6379/0")?
///     .with_key_prefix("{gw}:")
///     .with_response_timeout(Duration::from_secs(2));
/// assert!(!format!("{config:?}").contains("hunter2"));
/// # Ok::<(), storage::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct StorageConfig {
    /// Where Redis is.
    pub url: RedisUrl,
    /// Prepended to every key. Empty (the default) matches the existing deployment; a hash tag
    /// such as `{gw}:` keeps the configuration families in one Redis Cluster slot.
    pub key_prefix: String,
    /// Time allowed to open a connection. Default 5 s. A call's whole time, connecting
    /// included, is bounded by [`call_timeout`](Self::call_timeout).
    pub connect_timeout: Duration,
    /// Time allowed for Redis to answer one command. Default 5 s. A call's whole time, its
    /// defaults re-check and any resend included, is bounded by
    /// [`call_timeout`](Self::call_timeout).
    pub response_timeout: Duration,
    /// Most idle connections the blocking API keeps between calls. Default 16. A thread that
    /// finds none idle opens one of its own, so concurrent callers never wait for each
    /// other; beyond this many, connections are closed when their call ends. Ignored by the
    /// async API, which multiplexes one connection.
    pub pool_size: u32,
    /// How many times an optimistic read-modify-write retries before giving up with
    /// [`Error::Contention`]. Default 64.
    pub max_update_attempts: u32,
    /// How long an ACME challenge lives. Default 3600 s, as the existing deployment.
    pub challenge_ttl: Duration,
    /// How long `acquire_lock` waits for a held lock before [`Error::Locked`]. Default 30 s.
    pub lock_wait: Duration,
    /// How long an authorization code lives. Default 10 minutes.
    pub code_ttl: Duration,
    /// How long an OAuth state parameter lives. Default 300 s.
    pub state_ttl: Duration,
    /// How long a device authorization lives. Default 900 s.
    pub device_ttl: Duration,
    /// The minimum device polling interval. Default 5 s.
    pub device_interval: Duration,
    /// How long after a rotation the rotated refresh token is still taken as a client's
    /// retry rather than reuse. Default 10 s.
    pub refresh_grace: Duration,
    /// How long a refresh token family lives from its first token. Default 30 days.
    pub refresh_family_ttl: Duration,
    /// How often a [`LiveConfig`](crate::blocking::LiveConfig) rebuilds its snapshot from a
    /// full listing while the migration is mixed: old-layer writers do not feed the change
    /// feed, so this is how long their writes can take to show. Default 5 s.
    pub live_reconcile_interval: Duration,
    /// Where a [`LiveConfig`](crate::LiveConfig) keeps its last-known-good snapshot, so
    /// that a process started while Redis is away routes from it. None (the default): no
    /// file. See [`with_live_snapshot_file`](Self::with_live_snapshot_file).
    pub live_snapshot_file: Option<std::path::PathBuf>,
    /// How long after a change the live configuration's file is rewritten: a burst of
    /// changes within it costs one write. Default 1 s.
    pub live_snapshot_debounce: Duration,
    /// Who this storage's configuration changes are recorded as, in the history: by default
    /// `{program}@{host}:{pid}`. See [`with_actor`](Self::with_actor).
    pub actor: String,
    /// How many configuration changes the history keeps (about: Redis trims whole stream
    /// nodes), apart from the change feed's own capacity. Default 20 000; 0 turns the
    /// history off. See [`with_history_retention`](Self::with_history_retention).
    pub history_changes: usize,
    /// How long the history keeps a change. Default 90 days.
    pub history_age: Duration,
    /// Whether this storage seeds the default proxies and routes. Default true, and a
    /// gateway process must leave it so. Off only for tools that must look without writing
    /// (an operator's `doctor` has to see that `localhost` is missing, not repair it
    /// unasked); see [`without_seeding`](Self::without_seeding).
    pub seed_defaults: bool,
    /// Whether a proxy may exclude `/` from authentication, which turns authentication off
    /// for its whole host. Default false: storing such a proxy is [`Error::Invalid`] naming
    /// `auth_excluded_paths`, so it cannot happen by a typo.
    pub allow_root_auth_exclusion: bool,
    /// How often a long-lived storage checks that the default proxies and routes are still
    /// in Redis (one `MGET`, at the first operation after the interval), so that a store
    /// flushed under it gets them back. Default 1 s. A reconnection triggers the check at
    /// once, whatever the interval: a Redis that restarted empty is seeded before the first
    /// read on the new connection answers.
    pub defaults_check_interval: Duration,
    /// On a cluster or through Sentinel: how long a call keeps trying while its master is
    /// unreachable or read-only, waiting for a replica to take over, before it fails with
    /// the last error. Default 5 s; set it above the deployment's failure detection
    /// (`down-after-milliseconds` or `cluster-node-timeout`) plus the failover itself to ride
    /// through one. One server has no failover to wait for: there `connect_timeout` is the
    /// whole wait. [`call_timeout`](Self::call_timeout) gives a call's whole bound.
    pub failover_wait: Duration,
    /// How many replicas must acknowledge each write before it returns (`WAIT`). Default 0:
    /// a write returns once the master has it, and a failover in the next moments can lose
    /// it. With `n > 0`, a write that fewer replicas confirm within
    /// [`replica_timeout`](Self::replica_timeout) fails with [`Error::NotReplicated`]
    /// (it is applied on the master, but not yet safe from a failover).
    pub min_replicas: u32,
    /// How long a write waits for [`min_replicas`](Self::min_replicas). Default 1 s.
    pub replica_timeout: Duration,
}

impl StorageConfig {
    /// Settings with defaults for `url`.
    pub fn new(url: &str) -> Result<Self> {
        Ok(StorageConfig {
            url: RedisUrl::parse(url)?,
            key_prefix: String::new(),
            connect_timeout: Duration::from_secs(5),
            response_timeout: Duration::from_secs(5),
            pool_size: 16,
            max_update_attempts: 64,
            challenge_ttl: Duration::from_secs(3600),
            lock_wait: Duration::from_secs(30),
            code_ttl: Duration::from_secs(600),
            state_ttl: Duration::from_secs(300),
            device_ttl: Duration::from_secs(900),
            device_interval: Duration::from_secs(5),
            refresh_grace: Duration::from_secs(10),
            refresh_family_ttl: Duration::from_secs(30 * 86_400),
            defaults_check_interval: Duration::from_secs(1),
            allow_root_auth_exclusion: false,
            seed_defaults: true,
            live_reconcile_interval: Duration::from_secs(5),
            live_snapshot_file: None,
            live_snapshot_debounce: Duration::from_secs(1),
            actor: default_actor(),
            history_changes: 20_000,
            history_age: Duration::from_secs(90 * 86_400),
            failover_wait: Duration::from_secs(5),
            min_replicas: 0,
            replica_timeout: Duration::from_secs(1),
        })
    }

    /// Settings with defaults for a Redis Cluster reached through `seeds` (`redis://host:port`
    /// URLs, sharing their scheme and credentials), with the configuration families under
    /// the hash tag `{gw}:`.
    ///
    /// ```
    /// use storage::{StorageConfig, Topology};
    ///
    /// let config = StorageConfig::cluster(["redis://:pw@10.0.0.1:7000", "redis://:pw@10.0.0.2:7000"])?;
    /// assert_eq!(config.url.topology(), Topology::Cluster);
    /// assert_eq!(config.key_prefix, "{gw}:");
    /// assert_eq!(config.url.to_string(), "redis+cluster://:***@10.0.0.1:7000,10.0.0.2:7000");
    /// # Ok::<(), storage::Error>(())
    /// ```
    pub fn cluster<S: AsRef<str>>(seeds: impl IntoIterator<Item = S>) -> Result<Self> {
        let url = multi_host_url("cluster", seeds, "")?;
        Ok(StorageConfig::new(&url)?.with_key_prefix(CLUSTER_PREFIX))
    }

    /// Settings with defaults for the master that the sentinels at `sentinels` (`redis://
    /// host:port` URLs) know as `master_name`. A password for the master goes in a URL
    /// instead: `redis+sentinel://:pw@host:26379,host:26380/gateway`.
    ///
    /// ```
    /// use storage::{StorageConfig, Topology};
    ///
    /// let config = StorageConfig::sentinel("gateway", ["redis://10.0.0.1:26379", "redis://10.0.0.2:26379"])?;
    /// assert_eq!(config.url.topology(), Topology::Sentinel);
    /// assert_eq!(config.url.expose(), "redis+sentinel://10.0.0.1:26379,10.0.0.2:26379/gateway");
    /// # Ok::<(), storage::Error>(())
    /// ```
    pub fn sentinel<S: AsRef<str>>(
        master_name: &str,
        sentinels: impl IntoIterator<Item = S>,
    ) -> Result<Self> {
        if master_name.is_empty() || master_name.contains(['/', '?', '#', '@', ',']) {
            return Err(Error::invalid(
                "master_name",
                "must be a plain non-empty name",
            ));
        }
        StorageConfig::new(&multi_host_url(
            "sentinel",
            sentinels,
            &format!("/{master_name}"),
        )?)
    }

    /// The most one call takes, from its start to its answer or its error, whatever it does
    /// inside: a defaults re-check, a resend on a new connection, a reconnection, retries
    /// through a failover. One server: [`connect_timeout`](Self::connect_timeout) plus
    /// [`response_timeout`](Self::response_timeout) (one connection opened, one answer
    /// awaited). On a cluster or through Sentinel, [`failover_wait`](Self::failover_wait)
    /// more, the time a call keeps trying while a failover runs. With
    /// [`min_replicas`](Self::min_replicas), [`replica_timeout`](Self::replica_timeout) more,
    /// for the `WAIT` after a write. Each connect and each answer waits at most its own
    /// timeout and never past this bound.
    ///
    /// One exception, outside this crate: in the blocking API on a cluster or through
    /// Sentinel, redis-rs' sync clients check a node they open a connection to without a
    /// timeout (the cluster connection with a `PING`, the sentinel client with a `ROLE` on
    /// the master it was told of). A node that accepts connections but does not answer
    /// (paused, hung) holds such an opening until it answers again. Calls on connections
    /// already open, and every call of the async API, keep the bound.
    ///
    /// ```
    /// use std::time::Duration;
    /// let config = storage::StorageConfig::new("redis://127.0.0.1:6379")?
    ///     .with_connect_timeout(Duration::from_secs(1))
    ///     .with_response_timeout(Duration::from_secs(2));
    /// assert_eq!(config.call_timeout(), Duration::from_secs(3));
    /// # Ok::<(), storage::Error>(())
    /// ```
    pub fn call_timeout(&self) -> Duration {
        let mut one_try = self.connect_timeout + self.response_timeout;
        if self.min_replicas > 0 {
            one_try += self.replica_timeout;
        }
        match self.url.topology() {
            Topology::Standalone => one_try,
            Topology::Cluster | Topology::Sentinel => one_try + self.failover_wait,
        }
    }

    /// What this storage's connections need of the configuration.
    pub(crate) fn connection_settings(&self) -> ConnectionSettings {
        ConnectionSettings {
            nodes: self.url.nodes().clone(),
            connect_timeout: self.connect_timeout,
            response_timeout: self.response_timeout,
            failover_wait: self.failover_wait,
            min_replicas: self.min_replicas,
            replica_timeout: self.replica_timeout,
            pool_size: self.pool_size,
            call_timeout: self.call_timeout(),
        }
    }

    /// Sets [`failover_wait`](Self::failover_wait).
    pub fn with_failover_wait(mut self, wait: Duration) -> Self {
        self.failover_wait = wait;
        self
    }

    /// Makes every write wait until `replicas` replicas have it, for at most `timeout` (see
    /// [`min_replicas`](Self::min_replicas)).
    pub fn with_min_replicas(mut self, replicas: u32, timeout: Duration) -> Self {
        self.min_replicas = replicas;
        self.replica_timeout = timeout;
        self
    }

    /// `url` with `password` as its password (see [`RedisUrl::with_password`]): for a
    /// password read from a file or a secret store rather than written into the URL.
    pub fn with_password(mut self, password: &str) -> Result<Self> {
        self.url = self.url.with_password(password)?;
        Ok(self)
    }

    /// Sets [`key_prefix`](Self::key_prefix).
    pub fn with_key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// Sets [`connect_timeout`](Self::connect_timeout).
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets [`response_timeout`](Self::response_timeout).
    pub fn with_response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// Sets [`pool_size`](Self::pool_size).
    pub fn with_pool_size(mut self, size: u32) -> Self {
        self.pool_size = size.max(1);
        self
    }

    /// Sets [`max_update_attempts`](Self::max_update_attempts).
    pub fn with_max_update_attempts(mut self, attempts: u32) -> Self {
        self.max_update_attempts = attempts.max(1);
        self
    }

    /// Sets [`challenge_ttl`](Self::challenge_ttl).
    pub fn with_challenge_ttl(mut self, ttl: Duration) -> Self {
        self.challenge_ttl = ttl;
        self
    }

    /// Sets [`lock_wait`](Self::lock_wait).
    pub fn with_lock_wait(mut self, wait: Duration) -> Self {
        self.lock_wait = wait;
        self
    }

    /// Sets [`code_ttl`](Self::code_ttl).
    pub fn with_code_ttl(mut self, ttl: Duration) -> Self {
        self.code_ttl = ttl;
        self
    }

    /// Sets [`state_ttl`](Self::state_ttl).
    pub fn with_state_ttl(mut self, ttl: Duration) -> Self {
        self.state_ttl = ttl;
        self
    }

    /// Sets [`device_ttl`](Self::device_ttl).
    pub fn with_device_ttl(mut self, ttl: Duration) -> Self {
        self.device_ttl = ttl;
        self
    }

    /// Sets [`refresh_family_ttl`](Self::refresh_family_ttl).
    pub fn with_refresh_family_ttl(mut self, ttl: Duration) -> Self {
        self.refresh_family_ttl = ttl;
        self
    }

    /// Sets [`refresh_grace`](Self::refresh_grace).
    pub fn with_refresh_grace(mut self, grace: Duration) -> Self {
        self.refresh_grace = grace;
        self
    }

    /// Sets [`device_interval`](Self::device_interval).
    pub fn with_device_interval(mut self, interval: Duration) -> Self {
        self.device_interval = interval;
        self
    }

    /// Sets [`defaults_check_interval`](Self::defaults_check_interval).
    pub fn with_defaults_check_interval(mut self, interval: Duration) -> Self {
        self.defaults_check_interval = interval;
        self
    }

    /// Keeps the live configuration's last-known-good snapshot in `path`: rewritten
    /// atomically (a temporary file, `fsync`, rename) at most once per
    /// [`live_snapshot_debounce`](Self::live_snapshot_debounce), readable by its owner only,
    /// and served at once by `live_config()` in a process that starts while Redis is away.
    ///
    /// ```
    /// let config = storage::StorageConfig::new("redis://127.0.0.1:6379")?
    ///     .with_live_snapshot_file("/var/lib/gateway/live-config.snapshot");
    /// assert!(config.live_snapshot_file.is_some());
    /// # Ok::<(), storage::Error>(())
    /// ```
    pub fn with_live_snapshot_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.live_snapshot_file = Some(path.into());
        self
    }

    /// Sets [`live_snapshot_debounce`](Self::live_snapshot_debounce).
    pub fn with_live_snapshot_debounce(mut self, debounce: Duration) -> Self {
        self.live_snapshot_debounce = debounce;
        self
    }

    /// Sets who this storage's configuration changes are recorded as in the history, such as
    /// `certmanager@host-3`. At most 200 bytes, without control characters.
    ///
    /// ```
    /// let config = storage::StorageConfig::new("redis://127.0.0.1:6379")?
    ///     .with_actor("certmanager@host-3");
    /// assert_eq!(config.actor, "certmanager@host-3");
    /// # Ok::<(), storage::Error>(())
    /// ```
    pub fn with_actor(mut self, actor: impl Into<String>) -> Self {
        self.actor = actor.into();
        self
    }

    /// Sets how much history is kept: at most about `changes` changes (0 turns it off), none
    /// older than `age`. The history is in Redis, beside the change feed; see the guide's
    /// "History" for its cost in memory.
    pub fn with_history_retention(mut self, changes: usize, age: Duration) -> Self {
        self.history_changes = changes;
        self.history_age = age;
        self
    }

    /// A storage whose writes record no history (see
    /// [`history_changes`](Self::history_changes)).
    pub fn without_history(mut self) -> Self {
        self.history_changes = 0;
        self
    }

    /// What a live configuration's file is written for: the address, database and key
    /// prefix, without credentials. A file written for another is never served.
    pub(crate) fn store_identity(&self) -> String {
        format!("{} {}", self.url, self.key_prefix)
    }

    /// Sets [`live_reconcile_interval`](Self::live_reconcile_interval).
    pub fn with_live_reconcile_interval(mut self, interval: Duration) -> Self {
        self.live_reconcile_interval = interval;
        self
    }

    /// A storage that never writes the defaults, for inspection tools (see
    /// [`seed_defaults`](Self::seed_defaults)).
    pub fn without_seeding(mut self) -> Self {
        self.seed_defaults = false;
        self
    }

    /// Allows proxies to exclude `/` from authentication (see
    /// [`allow_root_auth_exclusion`](Self::allow_root_auth_exclusion)).
    pub fn with_root_auth_exclusion_allowed(mut self) -> Self {
        self.allow_root_auth_exclusion = true;
        self
    }

    /// Checks every setting: each duration is more than zero and at most ten years (longer
    /// ones overflow date arithmetic), the pool has a connection, updates get an attempt.
    /// [`Error::Invalid`] names the first setting that breaks a rule. Storages check their
    /// configuration when they are made.
    pub fn validate(&self) -> Result<()> {
        let durations = [
            ("connect_timeout", self.connect_timeout),
            ("response_timeout", self.response_timeout),
            ("challenge_ttl", self.challenge_ttl),
            ("lock_wait", self.lock_wait),
            ("code_ttl", self.code_ttl),
            ("state_ttl", self.state_ttl),
            ("device_ttl", self.device_ttl),
            ("device_interval", self.device_interval),
            ("refresh_grace", self.refresh_grace),
            ("refresh_family_ttl", self.refresh_family_ttl),
            ("defaults_check_interval", self.defaults_check_interval),
            ("live_reconcile_interval", self.live_reconcile_interval),
            ("live_snapshot_debounce", self.live_snapshot_debounce),
            ("failover_wait", self.failover_wait),
            ("replica_timeout", self.replica_timeout),
            ("history_age", self.history_age),
        ];
        for (field, value) in durations {
            validate::duration(field, value)?;
        }
        if self.actor.is_empty()
            || self.actor.len() > 200
            || self.actor.chars().any(char::is_control)
        {
            return Err(Error::invalid(
                "actor",
                "must be 1 to 200 bytes without control characters",
            ));
        }
        if self.pool_size == 0 {
            return Err(Error::invalid("pool_size", "must be at least 1"));
        }
        if self.max_update_attempts == 0 {
            return Err(Error::invalid("max_update_attempts", "must be at least 1"));
        }
        if self.url.topology() == Topology::Cluster {
            check_cluster_prefix(&self.key_prefix)?;
        }
        Ok(())
    }

    /// The key names under [`key_prefix`](Self::key_prefix).
    pub fn key_space(&self) -> KeySpace {
        KeySpace::new(&self.key_prefix)
    }
}

/// `{program}@{host}:{pid}`: who a process's changes are by, unless it says otherwise.
fn default_actor() -> String {
    let program = std::env::current_exe()
        .ok()
        .and_then(|path| {
            path.file_stem()
                .map(|stem| stem.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|host| host.trim().to_owned())
        .filter(|host| !host.is_empty())
        .unwrap_or_else(|| "localhost".to_owned());
    let actor = format!("{program}@{host}:{}", std::process::id());
    actor
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect()
}

/// The prefix [`StorageConfig::cluster`] gives: one hash tag for every configuration key.
const CLUSTER_PREFIX: &str = "{gw}:";

/// `redis+{kind}://[credentials@]host,host{path}` from plain node URLs, which must share a
/// scheme and credentials.
fn multi_host_url<S: AsRef<str>>(
    kind: &str,
    nodes: impl IntoIterator<Item = S>,
    path: &str,
) -> Result<String> {
    let mut scheme = None;
    let mut credentials = None;
    let mut hosts = Vec::new();
    for node in nodes {
        let url = url::Url::parse(node.as_ref()).map_err(|e| Error::invalid("url", e))?;
        if !matches!(url.scheme(), "redis" | "rediss") {
            return Err(Error::invalid(
                "url",
                "each node must be a redis:// or rediss:// URL",
            ));
        }
        let host = match (url.host_str(), url.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            _ => return Err(Error::invalid("url", "a node URL has no host")),
        };
        let auth = match url.password() {
            Some(password) => format!("{}:{password}@", url.username()),
            None if !url.username().is_empty() => format!("{}@", url.username()),
            None => String::new(),
        };
        if scheme.get_or_insert_with(|| url.scheme().to_owned()) != url.scheme()
            || credentials.get_or_insert_with(|| auth.clone()) != &auth
        {
            return Err(Error::invalid(
                "url",
                "every node must have the same scheme and credentials",
            ));
        }
        hosts.push(host);
    }
    let Some(scheme) = scheme else {
        return Err(Error::invalid("url", "names no node"));
    };
    let credentials = credentials.unwrap_or_default();
    Ok(format!(
        "{scheme}+{kind}://{credentials}{}{path}",
        hosts.join(",")
    ))
}

impl TryFrom<&str> for StorageConfig {
    type Error = Error;

    fn try_from(url: &str) -> Result<Self> {
        StorageConfig::new(url)
    }
}

impl TryFrom<&String> for StorageConfig {
    type Error = Error;

    fn try_from(url: &String) -> Result<Self> {
        StorageConfig::new(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_host_urls_hide_their_password_everywhere() {
        for url in [
            "redis+cluster://admin:s3cret-pw@10.0.0.1:7000,10.0.0.2:7000",
            "redis+sentinel://:s3cret-pw@10.0.0.1:26379,10.0.0.2:26379/gateway/2",
            "redis+sentinel://:s3cret-pw@10.0.0.1:26379/gateway",
        ] {
            let config = StorageConfig::new(url).unwrap().with_key_prefix("{gw}:");
            let shown = format!("{config:?} {}", config.url);
            assert!(!shown.contains("s3cret-pw"), "{shown}");
            assert!(shown.contains(":***@"), "{shown}");
            assert_eq!(config.url.expose(), url);
        }
    }

    #[test]
    fn the_node_constructors_need_alike_nodes() {
        let mixed = StorageConfig::cluster(["redis://:a@h1:7000", "redis://:b@h2:7000"]);
        assert!(mixed.is_err());
        let error = StorageConfig::cluster(["redis://:a@h1:7000", "redis://:b@h2:7000"])
            .unwrap_err()
            .to_string();
        assert!(!error.contains(":a@") && !error.contains(":b@"), "{error}");
        assert!(StorageConfig::cluster(Vec::<String>::new()).is_err());
        assert!(StorageConfig::sentinel("gate/way", ["redis://h:26379"]).is_err());
        let config = StorageConfig::sentinel("gateway", ["redis://h1:26379"]).unwrap();
        assert_eq!(config.url.master_name(), Some("gateway"));
    }

    #[test]
    fn a_cluster_is_validated_for_its_prefix_and_min_replicas_for_its_timeout() {
        let config = StorageConfig::new("redis+cluster://h:7000").unwrap();
        assert!(config.validate().is_err(), "no hash tag");
        assert!(config.clone().with_key_prefix("{gw}:").validate().is_ok());
        let zero = StorageConfig::new("redis://h")
            .unwrap()
            .with_min_replicas(1, Duration::ZERO);
        assert!(matches!(
            zero.validate(),
            Err(Error::Invalid {
                field: "replica_timeout",
                ..
            })
        ));
    }
}
