//! The topologies beyond one server, from the same launcher: a Redis Cluster of masters (and
//! replicas), and a master with a replica watched by sentinels.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::server::{RedisServer, ServerOptions};

/// How long a topology may take to form.
const FORMS_WITHIN: Duration = Duration::from_secs(30);

/// A local Redis Cluster: `masters` masters, each with `replicas` replicas, the slots
/// spread over the masters, every node on loopback. Nodes take a master that does not
/// answer for a second for failed (`cluster-node-timeout 1000`).
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
    replicas: usize,
}

impl RedisCluster {
    /// Starts the nodes and joins them with `redis-cli --cluster create`; panics if the
    /// cluster does not reach `cluster_state:ok`.
    pub fn start(masters: usize, replicas: usize) -> RedisCluster {
        let options = ServerOptions::new().args([
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            "1000",
        ]);
        let nodes: Vec<RedisServer> = (0..masters * (1 + replicas))
            .map(|_| RedisServer::start_with(options.clone()))
            .collect();
        let addresses: Vec<String> = nodes
            .iter()
            .map(|node| format!("127.0.0.1:{}", node.port()))
            .collect();
        let created = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addresses)
            .args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"])
            .output()
            .expect("redis-cli must be installed to form a cluster");
        assert!(
            created.status.success(),
            "redis-cli --cluster create: {}",
            String::from_utf8_lossy(&created.stdout)
        );
        let cluster = RedisCluster { nodes, replicas };
        cluster.wait_until_ok();
        cluster
    }

    /// The nodes, masters first as `redis-cli` assigned them.
    pub fn nodes(&self) -> &[RedisServer] {
        &self.nodes
    }

    /// A URL for each node (the seeds a cluster client starts from).
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }

    /// Waits until every node says `cluster_state:ok` and every replica is in sync with
    /// its master.
    pub fn wait_until_ok(&self) {
        let deadline = Instant::now() + FORMS_WITHIN;
        loop {
            let ok = self.nodes.iter().all(|node| {
                let answer = |section: &str, cmd: &mut redis::Cmd| {
                    redis::Client::open(node.url())
                        .and_then(|c| c.get_connection_with_timeout(Duration::from_millis(300)))
                        .and_then(|mut c| cmd.query::<String>(&mut c))
                        .map(|text| text.contains(section))
                };
                let formed = answer("cluster_state:ok", redis::cmd("CLUSTER").arg("INFO"));
                let replication = redis::cmd("INFO").arg("replication").to_owned();
                let is_replica = answer("role:slave", &mut replication.clone());
                let synced = answer("master_link_status:up", &mut replication.clone());
                formed.is_ok_and(|ok| ok)
                    && (is_replica.is_ok_and(|r| !r) || synced.is_ok_and(|s| s))
                    && self.replicas_known_by(node)
            });
            if ok {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the cluster did not reach state ok"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Whether `node`'s `CLUSTER SLOTS` lists as many replicas for each range as the
    /// cluster was made with.
    fn replicas_known_by(&self, node: &RedisServer) -> bool {
        let slots: redis::RedisResult<redis::Value> = redis::Client::open(node.url())
            .and_then(|c| c.get_connection_with_timeout(Duration::from_millis(300)))
            .and_then(|mut c| redis::cmd("CLUSTER").arg("SLOTS").query(&mut c));
        match slots {
            Ok(redis::Value::Array(ranges)) => ranges.iter().all(|range| match range {
                redis::Value::Array(fields) => fields.len() >= 3 + self.replicas,
                _ => false,
            }),
            _ => false,
        }
    }

    /// The node listening on `port`, to stop or kill.
    pub fn node_mut(&mut self, port: u16) -> &mut RedisServer {
        self.nodes
            .iter_mut()
            .find(|node| node.port() == port)
            .unwrap_or_else(|| panic!("no cluster node on port {port}"))
    }

    /// The port of the master serving `key`'s slot, and of its replicas, as a live node
    /// reports them (`CLUSTER SLOTS`).
    pub fn serving(&self, key: &str) -> (u16, Vec<u16>) {
        let slot = i64::from(self.slot_of(key));
        let live = self
            .nodes
            .iter()
            .find_map(|node| {
                redis::Client::open(node.url())
                    .and_then(|c| c.get_connection_with_timeout(Duration::from_millis(300)))
                    .and_then(|mut c| {
                        redis::cmd("CLUSTER")
                            .arg("SLOTS")
                            .query::<redis::Value>(&mut c)
                    })
                    .ok()
            })
            .expect("a live node");
        let redis::Value::Array(ranges) = live else {
            panic!("CLUSTER SLOTS: {live:?}")
        };
        let port_of = |node: &redis::Value| match node {
            redis::Value::Array(fields) => match fields.get(1) {
                Some(redis::Value::Int(port)) => u16::try_from(*port).ok(),
                _ => None,
            },
            _ => None,
        };
        for range in ranges {
            let redis::Value::Array(fields) = range else {
                continue;
            };
            let (Some(redis::Value::Int(start)), Some(redis::Value::Int(end))) =
                (fields.first(), fields.get(1))
            else {
                continue;
            };
            if (*start..=*end).contains(&slot) {
                let master = fields.get(2).and_then(port_of).expect("master port");
                let replicas = fields[3..].iter().filter_map(port_of).collect();
                return (master, replicas);
            }
        }
        panic!("no node serves slot {slot}")
    }

    /// Whether the node on `port` says it is a master (`ROLE`).
    pub fn is_master(&self, port: u16) -> bool {
        let node = self
            .nodes
            .iter()
            .find(|node| node.port() == port)
            .expect("a node on that port");
        role(node).as_deref() == Some("master")
    }

    /// The slot of `key`, as the cluster computes it (`CLUSTER KEYSLOT`).
    pub fn slot_of(&self, key: &str) -> u16 {
        redis::cmd("CLUSTER")
            .arg("KEYSLOT")
            .arg(key)
            .query(&mut self.live_node())
            .expect("CLUSTER KEYSLOT")
    }

    fn live_node(&self) -> redis::Connection {
        self.nodes
            .iter()
            .find_map(|node| {
                redis::Client::open(node.url())
                    .and_then(|c| c.get_connection_with_timeout(Duration::from_millis(300)))
                    .ok()
            })
            .expect("a live cluster node")
    }
}

/// What `ROLE` says the server is: `master`, `slave` or `sentinel`; `None` if it does not
/// answer.
fn role(server: &RedisServer) -> Option<String> {
    let reply: redis::Value = redis::Client::open(server.url())
        .and_then(|c| c.get_connection_with_timeout(Duration::from_millis(300)))
        .and_then(|mut c| redis::cmd("ROLE").query(&mut c))
        .ok()?;
    match reply {
        redis::Value::Array(fields) => match fields.first() {
            Some(redis::Value::BulkString(role)) => {
                Some(String::from_utf8_lossy(role).into_owned())
            }
            Some(redis::Value::SimpleString(role)) => Some(role.clone()),
            _ => None,
        },
        _ => None,
    }
}

/// A master, a replica of it, and `sentinels` sentinels watching it under `MASTER_NAME`,
/// taking it for down after a second.
pub struct SentinelGroup {
    master: RedisServer,
    replica: RedisServer,
    sentinels: Vec<RedisServer>,
}

/// The name the sentinels know the master by.
pub const MASTER_NAME: &str = "gateway";

impl SentinelGroup {
    /// Starts the master, the replica and the sentinels, and waits until every sentinel
    /// knows the master and its replica.
    pub fn start(sentinels: usize) -> SentinelGroup {
        let master = RedisServer::start();
        let replica = RedisServer::start_with(ServerOptions::new().args([
            "--replicaof",
            "127.0.0.1",
            &master.port().to_string(),
        ]));
        let quorum = u32::try_from(sentinels / 2 + 1).unwrap_or(2);
        let watching = ServerOptions::new().sentinel(
            MASTER_NAME,
            master.port(),
            quorum,
            Duration::from_millis(1000),
        );
        let sentinels = (0..sentinels)
            .map(|_| RedisServer::start_with(watching.clone()))
            .collect();
        let group = SentinelGroup {
            master,
            replica,
            sentinels,
        };
        group.wait_until_known();
        group
    }

    /// The sentinels' ports.
    pub fn sentinel_ports(&self) -> Vec<u16> {
        self.sentinels.iter().map(RedisServer::port).collect()
    }

    /// The sentinels' URLs.
    pub fn sentinel_urls(&self) -> Vec<String> {
        self.sentinels.iter().map(RedisServer::url).collect()
    }

    /// The server that was started as master (it may not be the master any more).
    pub fn first_master(&mut self) -> &mut RedisServer {
        &mut self.master
    }

    /// The server that was started as replica.
    pub fn first_replica(&mut self) -> &mut RedisServer {
        &mut self.replica
    }

    /// The master's port as the first sentinel announces it now.
    pub fn announced_master_port(&self) -> Option<u16> {
        let reply: Option<(String, String)> = redis::cmd("SENTINEL")
            .arg("get-master-addr-by-name")
            .arg(MASTER_NAME)
            .query(&mut self.sentinels[0].raw())
            .ok()?;
        reply?.1.parse().ok()
    }

    fn wait_until_known(&self) {
        let deadline = Instant::now() + FORMS_WITHIN;
        loop {
            let known = self.sentinels.iter().all(|sentinel| {
                let replicas: redis::RedisResult<Vec<redis::Value>> = redis::cmd("SENTINEL")
                    .arg("replicas")
                    .arg(MASTER_NAME)
                    .query(&mut sentinel.raw());
                replicas.is_ok_and(|r| !r.is_empty())
            });
            let synced = redis::cmd("INFO")
                .arg("replication")
                .query::<String>(&mut self.replica.raw())
                .is_ok_and(|info| info.contains("master_link_status:up"));
            if known && synced && self.announced_master_port() == Some(self.master.port()) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the sentinels did not learn the group"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_three_master_cluster_forms_and_computes_slots() {
        let cluster = RedisCluster::start(3, 0);
        assert_eq!(cluster.nodes().len(), 3);
        assert_eq!(cluster.slot_of("123456789"), 12739);
        assert_eq!(
            cluster.slot_of("{gw}:proxy:a"),
            cluster.slot_of("{gw}:route:b")
        );
    }

    #[test]
    fn sentinels_promote_the_replica_when_the_master_is_killed() {
        let mut group = SentinelGroup::start(3);
        let replica_port = group.first_replica().port();
        group.first_master().kill();
        let deadline = Instant::now() + Duration::from_secs(20);
        while group.announced_master_port() != Some(replica_port) {
            assert!(Instant::now() < deadline, "no failover announced");
            std::thread::sleep(Duration::from_millis(100));
        }
        let role: Vec<redis::Value> = redis::cmd("ROLE")
            .query(&mut group.first_replica().raw())
            .unwrap();
        assert_eq!(
            role.first()
                .and_then(|v| redis::from_redis_value_ref::<String>(v).ok()),
            Some("master".to_owned())
        );
    }
}
