//! How every call reaches Redis, in both modes and on every topology: on a connection from
//! the mode's [`Connection`], again when the retry budget allows (a broken connection, a
//! failover under way), followed by a `WAIT` for replicas when the configuration asks.
//!
//! The modes supply where connections go (`Endpoint`), how they are shared (`Links`: a
//! pool in the blocking mode, one multiplexed connection in the async mode) and how one call
//! runs on one (`Link::query`); what happens around that is written here once.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::{FromRedisValue, Value};

use redis::cluster::ClusterClient;
use redis::sentinel::SentinelClient;

use super::{check_runtime, maybe, pause, Link, Links, SentinelLock};
use crate::commands;
use crate::commands::cluster::Node;
use crate::commands::Call;
use crate::error::{Error, Result};
use crate::retry::{needs_new_connection, Deadline, Effect, RetryBudget, Step, IDLE_CHECK_AFTER};
use crate::telemetry::Telemetry;
use crate::topology::{clients, ConnectionSettings, Topology};

/// What connections are opened to: one server, the master the sentinels name (asked again
/// at every opening), or a cluster. How to open one is each mode's (`Endpoint::open`).
pub(crate) enum Endpoint {
    Server(redis::Client),
    Sentinel(SentinelLock<SentinelClient>),
    Cluster(ClusterClient),
}

impl Endpoint {
    /// The endpoint `settings` name, whose connections answer within `response_timeout`.
    pub(crate) fn new(settings: &ConnectionSettings, response_timeout: Duration) -> Result<Self> {
        Ok(match settings.nodes.topology {
            Topology::Standalone => Endpoint::Server(clients::server(settings)?),
            Topology::Sentinel => {
                Endpoint::Sentinel(SentinelLock::new(clients::sentinel(settings)?))
            }
            Topology::Cluster => Endpoint::Cluster(clients::cluster(settings, response_timeout)?),
        })
    }
}

/// The connections of one storage, and how many times they failed.
pub(crate) struct Connection {
    endpoint: Endpoint,
    settings: ConnectionSettings,
    /// Where it connects, for errors (`host:port`, never credentials).
    address: String,
    links: Links,
    // Connection failures seen: after one, a new connection opens, maybe to a Redis that
    // restarted empty or to a new master.
    failures: AtomicU64,
    telemetry: Arc<Telemetry>,
}

impl Connection {
    /// Prepares the connections without opening any; they open on first use. What they do
    /// is counted in `telemetry`.
    pub(super) fn new(settings: ConnectionSettings, telemetry: Arc<Telemetry>) -> Result<Self> {
        Ok(Connection {
            endpoint: Endpoint::new(&settings, settings.response_timeout)?,
            address: settings.nodes.address(),
            settings,
            links: Links::default(),
            failures: AtomicU64::new(0),
            telemetry,
        })
    }

    /// The settings the connection was made with.
    pub(super) fn settings(&self) -> &ConnectionSettings {
        &self.settings
    }

    /// Whether this reaches a cluster, where multi-slot pipelines are cut by slot.
    pub(super) fn is_cluster(&self) -> bool {
        matches!(self.endpoint, Endpoint::Cluster(_))
    }

    /// How many connection failures were seen so far: after each a new connection opens,
    /// which may reach a Redis that restarted empty, so the storage checks its defaults when
    /// this changes.
    pub(super) fn epoch(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    /// Counts a connection failure.
    fn failed(&self) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        self.telemetry.connection_failed();
    }

    /// A connection to use, opened within `connect_timeout` and by `deadline`.
    #[maybe]
    async fn take(&self, deadline: Deadline) -> Result<Link> {
        let started = Instant::now();
        let wait = deadline.cap(self.settings.connect_timeout);
        let taken = if wait.is_zero() {
            Err(Deadline::expired().into())
        } else {
            self.links
                .take(&self.endpoint, &self.settings, wait, &self.telemetry)
                .await
        };
        match &taken {
            Ok(link) => self
                .telemetry
                .connection_taken(link.counted(), started.elapsed()),
            Err(_) => self.failed(),
        }
        taken
    }

    fn give_back(&self, link: Link) {
        self.telemetry.connection_given_back(link.counted());
        self.links.give_back(link, &self.settings);
    }

    /// Runs `call` and decodes its reply, by `deadline`. A pipeline is one round trip, or on
    /// a cluster one per slot its keys live in.
    #[maybe]
    pub(super) async fn send<T: FromRedisValue>(
        &self,
        call: Call<'_>,
        effect: Effect,
        deadline: Deadline,
    ) -> Result<T> {
        let pieces = match call {
            Call::Pipe(pipe) if self.is_cluster() => {
                commands::cluster::by_slot(pipe).map(|pieces| (pipe, pieces))
            }
            _ => None,
        };
        let Some((pipe, pieces)) = pieces else {
            return decode(self.run(call, effect, deadline).await?);
        };
        let mut replies = vec![Value::Nil; pipe.len()];
        for (positions, piece) in pieces {
            let piece_replies: Vec<Value> =
                decode(self.run(Call::Pipe(&piece), effect, deadline).await?)?;
            for (position, reply) in positions.into_iter().zip(piece_replies) {
                replies[position] = reply;
            }
        }
        decode(Value::Array(replies))
    }

    /// The nodes a keyspace scan visits: the one server or master, or every cluster master.
    #[maybe]
    pub(super) async fn scan_nodes(&self) -> Result<Vec<Node>> {
        if !self.is_cluster() {
            return Ok(vec![Node::Connected]);
        }
        let deadline = Deadline::for_call(&self.settings);
        let reply = self
            .run(
                Call::Cmd(&commands::cluster::cluster_slots()),
                Effect::Read,
                deadline,
            )
            .await?;
        Ok(commands::cluster::masters(&reply)?
            .into_iter()
            .map(|(host, port)| Node::Master { host, port })
            .collect())
    }

    #[maybe]
    async fn run(&self, call: Call<'_>, effect: Effect, deadline: Deadline) -> Result<Value> {
        check_runtime()?;
        let key = call.first_key();
        let settings = self.settings();
        let mut budget = RetryBudget::new(settings, effect, settings.pool_size + 1, deadline);
        let mut stale_checks = 0;
        loop {
            let step = match self.take(deadline).await {
                // No retry can bring a runtime's missing driver.
                Err(error @ Error::Runtime { .. }) => return Err(error),
                Err(error) => budget.after_connect_failure(error),
                Ok(mut link) => {
                    if effect == Effect::WriteOnce
                        && link.idle_for() > IDLE_CHECK_AFTER
                        && stale_checks <= settings.pool_size
                        && link
                            .query(
                                Call::Cmd(&commands::ping()),
                                settings.response_timeout,
                                deadline,
                            )
                            .await
                            .is_err()
                    {
                        // Nothing of the call was sent: try it on another connection.
                        stale_checks += 1;
                        link.broken = true;
                        self.failed();
                        self.give_back(link);
                        continue;
                    }
                    let result = self.attempt(&mut link, call, effect, key, deadline).await;
                    link.touch();
                    if let Err(error) = &result {
                        if needs_new_connection(error) {
                            link.broken = true;
                            self.failed();
                        }
                    }
                    self.give_back(link);
                    match result {
                        Ok(reply) => return reply,
                        Err(error) => budget.after(error),
                    }
                }
            };
            match step {
                Step::Retry(wait) => {
                    self.telemetry.resent();
                    pause(wait).await;
                }
                Step::Fail(error) => {
                    if matches!(error, Error::OutcomeUnknown { .. }) {
                        self.telemetry.outcome_unknown();
                    }
                    return Err(error.at(&self.address));
                }
            }
        }
    }

    /// One try of `call` on `link`, and the wait for replicas after a write, each answer
    /// awaited for `response_timeout` and never past `deadline`. The outer error is the
    /// connection's (the budget judges it); the inner one is the write's own.
    #[maybe]
    async fn attempt(
        &self,
        link: &mut Link,
        call: Call<'_>,
        effect: Effect,
        key: Option<&[u8]>,
        deadline: Deadline,
    ) -> redis::RedisResult<Result<Value>> {
        let settings = self.settings();
        let reply = link
            .query(call, settings.response_timeout, deadline)
            .await?;
        let wanted = settings.min_replicas;
        if wanted == 0 || !effect.writes() {
            return Ok(Ok(reply));
        }
        let node = key.map_or(Node::Connected, |key| Node::MasterOf(key.to_vec()));
        let wait = commands::cluster::wait(wanted, settings.replica_timeout);
        let counted = link
            .query(
                Call::On(&node, &wait),
                settings.response_timeout + settings.replica_timeout,
                deadline,
            )
            .await?;
        // A `WAIT` that cannot count (it reached a node that was demoted since the write)
        // confirms nothing: the write stays unconfirmed.
        let acknowledged = u32::from_redis_value(counted).unwrap_or_else(|error| {
            tracing::warn!(%error, "WAIT did not count the replicas");
            0
        });
        Ok(if acknowledged >= wanted {
            Ok(reply)
        } else {
            self.telemetry.not_replicated();
            Err(Error::NotReplicated {
                acknowledged,
                wanted,
            })
        })
    }
}

/// A reply as `T`, with redis-rs' own error for a reply of another shape.
pub(super) fn decode<T: FromRedisValue>(reply: Value) -> Result<T> {
    T::from_redis_value(reply).map_err(|e| Error::from(redis::RedisError::from(e)))
}
