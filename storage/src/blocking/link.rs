//! Where the blocking mode's connections go, and what one is: a connection to the one
//! server or to the master Sentinel names now, or a redis-rs cluster connection.
//!
//! Opening through Sentinel asks the sentinels for the master each time, so a connection
//! rebuilt after a failover reaches the new master. A cluster connection routes each call
//! by its key's slot itself.

use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use redis::cluster::ClusterConnection;
use redis::{Cmd, ConnectionLike, RedisResult, Value};

use super::shared::Endpoint;
use crate::commands::cluster::Node;
use crate::commands::Call;
use crate::retry::Deadline;
use crate::telemetry::{OpenConnection, Telemetry};
use crate::topology::clients::CLUSTER_TRIES;

/// What guards the sentinel client while it asks for the master.
pub(super) type SentinelLock<T> = std::sync::Mutex<T>;

impl Endpoint {
    /// A new connection, with `response_timeout` on every read and write, counted in
    /// `telemetry` while it is open.
    pub(super) fn open(
        &self,
        connect_timeout: Duration,
        response_timeout: Duration,
        telemetry: &Arc<Telemetry>,
    ) -> crate::Result<Link> {
        let node = |client: &redis::Client| -> RedisResult<Link> {
            let connection = client.get_connection_with_timeout(connect_timeout)?;
            connection.set_read_timeout(Some(response_timeout))?;
            connection.set_write_timeout(Some(response_timeout))?;
            let open =
                telemetry.connection_opened(Some(client.get_connection_info().addr().to_string()));
            Ok(Link::new(Kind::Node(connection), response_timeout, open))
        };
        match self {
            Endpoint::Server(client) => Ok(node(client)?),
            Endpoint::Sentinel(sentinel) => {
                let master = sentinel
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .get_client()?;
                Ok(node(&master)?)
            }
            Endpoint::Cluster(client) => {
                let connection = client.get_connection()?;
                Ok(Link::new(
                    Kind::Cluster(Box::new(connection)),
                    response_timeout,
                    telemetry.connection_opened(None),
                ))
            }
        }
    }
}

enum Kind {
    Node(redis::Connection),
    Cluster(Box<ClusterConnection>),
}

/// One connection, with what the pool needs to know about it.
pub(super) struct Link {
    kind: Kind,
    /// Set when a call failed in a way that asks for a new connection (it broke, or it
    /// reaches a demoted master): the pool then drops it.
    pub(super) broken: bool,
    last_used: Instant,
    /// The read and write timeout the socket has now.
    timeout: Duration,
    open: OpenConnection,
}

impl Link {
    fn new(kind: Kind, timeout: Duration, open: OpenConnection) -> Self {
        Link {
            kind,
            broken: false,
            last_used: Instant::now(),
            timeout,
            open,
        }
    }

    /// What counts this connection open and in use.
    pub(super) fn counted(&self) -> &OpenConnection {
        &self.open
    }

    /// How long since a call last ran on this connection.
    pub(super) fn idle_for(&self) -> Duration {
        self.last_used.elapsed()
    }

    /// Marks the connection as just used.
    pub(super) fn touch(&mut self) {
        self.last_used = Instant::now();
    }

    /// Runs `call`, waiting at most `wait` for each read and write of its reply, and never
    /// past `deadline`. redis-rs' cluster connection tries a call up to `CLUSTER_TRIES`
    /// times itself, each with the socket's timeout: each gets its share of what is left.
    pub(super) fn query(
        &mut self,
        call: Call<'_>,
        wait: Duration,
        deadline: Deadline,
    ) -> RedisResult<Value> {
        let tries = match self.kind {
            Kind::Node(_) => 1,
            Kind::Cluster(_) => CLUSTER_TRIES,
        };
        self.wait_at_most(wait.min(deadline.remaining() / tries))?;
        match call {
            Call::Cmd(cmd) => cmd.query(self),
            Call::Pipe(pipe) => pipe.query(self),
            Call::Script(script) => script.invocation().invoke(self),
            Call::On(node, cmd) => self.query_on(node, cmd),
        }
    }

    /// Sets the socket's timeouts to `wait`, unless they are already: a call with time to
    /// spare costs no system call.
    fn wait_at_most(&mut self, wait: Duration) -> RedisResult<()> {
        if wait.is_zero() {
            return Err(Deadline::expired());
        }
        if wait == self.timeout {
            return Ok(());
        }
        match &self.kind {
            Kind::Node(connection) => {
                connection.set_read_timeout(Some(wait))?;
                connection.set_write_timeout(Some(wait))?;
            }
            Kind::Cluster(cluster) => {
                cluster.set_read_timeout(Some(wait))?;
                cluster.set_write_timeout(Some(wait))?;
            }
        }
        self.timeout = wait;
        Ok(())
    }

    fn query_on(&mut self, node: &Node, cmd: &Cmd) -> RedisResult<Value> {
        match (&mut self.kind, node.routing()) {
            (Kind::Cluster(cluster), Some(routing)) => cluster.route_command(cmd, routing),
            _ => cmd.query(self),
        }
    }
}

impl ConnectionLike for Link {
    fn req_packed_command(&mut self, cmd: &[u8]) -> RedisResult<Value> {
        match &mut self.kind {
            Kind::Node(connection) => connection.req_packed_command(cmd),
            Kind::Cluster(cluster) => cluster.req_packed_command(cmd),
        }
    }

    fn req_packed_commands(
        &mut self,
        cmd: &[u8],
        offset: usize,
        count: usize,
    ) -> RedisResult<Vec<Value>> {
        match &mut self.kind {
            Kind::Node(connection) => connection.req_packed_commands(cmd, offset, count),
            Kind::Cluster(cluster) => cluster.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match &self.kind {
            Kind::Node(connection) => connection.get_db(),
            Kind::Cluster(cluster) => cluster.get_db(),
        }
    }

    fn check_connection(&mut self) -> bool {
        match &mut self.kind {
            Kind::Node(connection) => connection.check_connection(),
            Kind::Cluster(cluster) => cluster.check_connection(),
        }
    }

    fn is_open(&self) -> bool {
        match &self.kind {
            Kind::Node(connection) => connection.is_open(),
            Kind::Cluster(cluster) => cluster.is_open(),
        }
    }
}
