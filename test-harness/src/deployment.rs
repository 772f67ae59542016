//! One name for whichever topology a test run uses, so that integration cases are written
//! once and run against one server, a cluster and a sentinel-watched master alike.
//!
//! `GW_TEST_TOPOLOGY` (`standalone`, the default; `cluster`; `sentinel`) picks it. A case
//! gets the storage URL of the deployment and a [`RawConnection`] that sees the same keys,
//! whatever the topology.

use std::time::Duration;

use redis::cluster::ClusterClient;
use redis::{ConnectionLike, RedisResult, Value};

use crate::{RedisCluster, RedisServer, SentinelGroup, MASTER_NAME};

/// The environment variable that picks the topology.
pub const TOPOLOGY_VARIABLE: &str = "GW_TEST_TOPOLOGY";

/// A running deployment of one of the three topologies.
#[allow(
    clippy::large_enum_variant,
    reason = "one per test binary, never moved about"
)]
pub enum Deployment {
    /// One server.
    Standalone(RedisServer),
    /// A 3-master cluster.
    Cluster(RedisCluster),
    /// A master, a replica and 3 sentinels.
    Sentinel(SentinelGroup),
}

impl Deployment {
    /// Starts the topology `GW_TEST_TOPOLOGY` names; panics on an unknown name.
    pub fn from_env() -> Deployment {
        let name = std::env::var(TOPOLOGY_VARIABLE).unwrap_or_default();
        Deployment::start(&name)
    }

    /// Starts `standalone` (or an empty name), `cluster` or `sentinel`.
    pub fn start(name: &str) -> Deployment {
        match name {
            "" | "standalone" => Deployment::Standalone(RedisServer::start()),
            "cluster" => Deployment::Cluster(RedisCluster::start(3, 0)),
            "sentinel" => Deployment::Sentinel(SentinelGroup::start(3)),
            other => panic!("{TOPOLOGY_VARIABLE}={other}: use standalone, cluster or sentinel"),
        }
    }

    /// Which topology this is: `standalone`, `cluster` or `sentinel`.
    pub fn name(&self) -> &'static str {
        match self {
            Deployment::Standalone(_) => "standalone",
            Deployment::Cluster(_) => "cluster",
            Deployment::Sentinel(_) => "sentinel",
        }
    }

    /// The storage URL of database `db` (a cluster has only 0).
    pub fn url_of_db(&self, db: u32) -> String {
        match self {
            Deployment::Standalone(server) => format!("{}{db}", server.url()),
            Deployment::Cluster(cluster) => {
                assert_eq!(db, 0, "a Redis Cluster has only database 0");
                let hosts: Vec<String> = cluster
                    .nodes()
                    .iter()
                    .map(|node| format!("127.0.0.1:{}", node.port()))
                    .collect();
                format!("redis+cluster://{}", hosts.join(","))
            }
            Deployment::Sentinel(group) => {
                let hosts: Vec<String> = group
                    .sentinel_ports()
                    .iter()
                    .map(|port| format!("127.0.0.1:{port}"))
                    .collect();
                format!("redis+sentinel://{}/{MASTER_NAME}/{db}", hosts.join(","))
            }
        }
    }

    /// The storage URL (database 0).
    pub fn url(&self) -> String {
        self.url_of_db(0)
    }

    /// A plain connection to database `db` of the deployment's data: the server, the
    /// cluster (routing by key), or the master the sentinels name now.
    pub fn raw_db(&self, db: u32) -> RawConnection {
        match self {
            Deployment::Standalone(server) => {
                RawConnection::to_server(&format!("{}{db}", server.url()))
            }
            Deployment::Cluster(cluster) => RawConnection::to_cluster(cluster),
            Deployment::Sentinel(group) => {
                let port = group.announced_master_port().expect("a master");
                RawConnection::to_server(&format!("redis://127.0.0.1:{port}/{db}"))
            }
        }
    }

    /// A plain connection to database 0.
    pub fn raw(&self) -> RawConnection {
        self.raw_db(0)
    }
}

/// A plain connection to a deployment's data, for looking at and writing keys behind the
/// storage's back: to one server, or to a cluster (routed by key).
pub struct RawConnection {
    inner: Box<dyn ConnectionLike + Send>,
    databases: u32,
}

impl RawConnection {
    /// A connection to the one server at `url`.
    pub fn to_server(url: &str) -> RawConnection {
        let connection = redis::Client::open(url)
            .and_then(|client| client.get_connection())
            .expect("raw connection");
        RawConnection {
            inner: Box::new(connection),
            databases: 16,
        }
    }

    fn to_cluster(cluster: &RedisCluster) -> RawConnection {
        let client = ClusterClient::builder(cluster.urls())
            .response_timeout(Duration::from_secs(10))
            .build()
            .expect("cluster client");
        RawConnection {
            inner: Box::new(client.get_connection().expect("cluster connection")),
            databases: 1,
        }
    }

    /// The databases this connection can `SELECT`: 16 on a server, only 0 on a cluster.
    pub fn databases(&self) -> u32 {
        self.databases
    }

    /// Every key matching `pattern`: `KEYS` on the server, or on each cluster master.
    pub fn keys(&mut self, pattern: &str) -> Vec<String> {
        let mut cmd = redis::cmd("KEYS");
        cmd.arg(pattern);
        let found: RedisResult<Vec<String>> = cmd.query(self);
        found.expect("KEYS")
    }
}

impl ConnectionLike for RawConnection {
    fn req_packed_command(&mut self, cmd: &[u8]) -> RedisResult<Value> {
        self.inner.req_packed_command(cmd)
    }

    fn req_packed_commands(
        &mut self,
        cmd: &[u8],
        offset: usize,
        count: usize,
    ) -> RedisResult<Vec<Value>> {
        self.inner.req_packed_commands(cmd, offset, count)
    }

    fn get_db(&self) -> i64 {
        self.inner.get_db()
    }

    fn check_connection(&mut self) -> bool {
        self.inner.check_connection()
    }

    fn is_open(&self) -> bool {
        self.inner.is_open()
    }
}
