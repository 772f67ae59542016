//! Where the async mode's connection goes, and what it is: a multiplexed connection to the
//! one server or to the master Sentinel names now, or redis-rs' async cluster connection.
//!
//! Opening through Sentinel asks the sentinels for the master each time, so a connection
//! rebuilt after a failover reaches the new master. A cluster connection routes each call
//! by its key's slot itself.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::cluster_async::ClusterConnection;
use redis::{AsyncConnectionConfig, Cmd, Pipeline, RedisFuture, RedisResult, Value};

use super::runtime::check_drivers;
use super::shared::Endpoint;
use crate::commands::Call;
use crate::retry::Deadline;
use crate::telemetry::{OpenConnection, Telemetry};

/// What guards the sentinel client while it asks for the master.
pub(super) type SentinelLock<T> = tokio::sync::Mutex<T>;

impl Endpoint {
    /// A new connection, whose calls time out after `response_timeout`; first, that the
    /// runtime has what redis-rs' connections need.
    pub(super) async fn open(
        &self,
        connect_timeout: Duration,
        response_timeout: Duration,
        telemetry: &Arc<Telemetry>,
    ) -> crate::Result<Link> {
        check_drivers()?;
        let settings = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(connect_timeout))
            .set_response_timeout(Some(response_timeout));
        let node = |client: &redis::Client| Some(client.get_connection_info().addr().to_string());
        let (kind, master) = match self {
            Endpoint::Server(client) => (
                Kind::Node(
                    client
                        .get_multiplexed_async_connection_with_config(&settings)
                        .await?,
                ),
                node(client),
            ),
            Endpoint::Sentinel(sentinel) => {
                let master = sentinel.lock().await.async_get_client().await?;
                (
                    Kind::Node(
                        master
                            .get_multiplexed_async_connection_with_config(&settings)
                            .await?,
                    ),
                    node(&master),
                )
            }
            Endpoint::Cluster(client) => {
                (Kind::Cluster(client.get_async_connection().await?), None)
            }
        };
        Ok(Link {
            kind,
            broken: false,
            generation: 0,
            born: Instant::now(),
            used_at: Arc::new(AtomicU64::new(0)),
            timeout: response_timeout,
            open: Arc::new(telemetry.connection_opened(master)),
        })
    }
}

#[derive(Clone)]
enum Kind {
    Node(MultiplexedConnection),
    Cluster(ClusterConnection),
}

/// A handle on the shared connection; clones multiplex over it.
#[derive(Clone)]
pub(super) struct Link {
    kind: Kind,
    /// Set when a call failed in a way that asks for a new connection (it broke, or it
    /// reaches a demoted master): the storage then opens another.
    pub(super) broken: bool,
    /// Which connection this is, so that a task holding an old one does not drop its
    /// replacement.
    pub(super) generation: u64,
    born: Instant,
    /// Milliseconds after `born` of the last call, over every clone.
    used_at: Arc<AtomicU64>,
    /// How long the connection itself waits for an answer.
    timeout: Duration,
    /// Counts the connection open until its last clone is gone.
    open: Arc<OpenConnection>,
}

impl Link {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.born.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// What counts this connection open and in use.
    pub(super) fn counted(&self) -> &OpenConnection {
        &self.open
    }

    /// How long since a call last ran on this connection.
    pub(super) fn idle_for(&self) -> Duration {
        let since = self
            .now_ms()
            .saturating_sub(self.used_at.load(Ordering::Relaxed));
        Duration::from_millis(since)
    }

    /// Marks the connection as just used.
    pub(super) fn touch(&mut self) {
        self.used_at.store(self.now_ms(), Ordering::Relaxed);
    }

    /// Runs `call`, waiting at most `wait` for its reply (its own tries on a cluster
    /// included), and never past `deadline`.
    pub(super) async fn query(
        &mut self,
        call: Call<'_>,
        wait: Duration,
        deadline: Deadline,
    ) -> RedisResult<Value> {
        let wait = deadline.cap(wait);
        if wait.is_zero() {
            return Err(Deadline::expired());
        }
        // A node's connection times out by itself; a cluster's tries again by itself, each
        // try with its own timeout, so only a timer of ours bounds the whole.
        if matches!(self.kind, Kind::Node(_)) && wait >= self.timeout {
            return self.run(call).await;
        }
        tokio::time::timeout(wait, self.run(call))
            .await
            .unwrap_or_else(|_| Err(Deadline::expired()))
    }

    async fn run(&mut self, call: Call<'_>) -> RedisResult<Value> {
        match call {
            Call::Cmd(cmd) => cmd.query_async(self).await,
            Call::Pipe(pipe) => pipe.query_async(self).await,
            Call::Script(script) => script.invocation().invoke_async(self).await,
            Call::On(node, cmd) => match (&mut self.kind, node.routing()) {
                (Kind::Cluster(cluster), Some(routing)) => {
                    cluster.route_command(cmd.clone(), routing).await
                }
                _ => cmd.query_async(self).await,
            },
        }
    }
}

impl ConnectionLike for Link {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match &mut self.kind {
            Kind::Node(connection) => connection.req_packed_command(cmd),
            Kind::Cluster(cluster) => cluster.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipe: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match &mut self.kind {
            Kind::Node(connection) => connection.req_packed_commands(pipe, offset, count),
            Kind::Cluster(cluster) => cluster.req_packed_commands(pipe, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match &self.kind {
            Kind::Node(connection) => connection.get_db(),
            Kind::Cluster(cluster) => cluster.get_db(),
        }
    }
}
