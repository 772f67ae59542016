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
        let cluster = RedisCluster { nodes };
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

    /// Waits until every node says `cluster_state:ok`.
    pub fn wait_until_ok(&self) {
        let deadline = Instant::now() + FORMS_WITHIN;
        loop {
            let ok = self.nodes.iter().all(|node| {
                redis::Client::open(node.url())
                    .and_then(|c| c.get_connection_with_timeout(Duration::from_millis(300)))
                    .and_then(|mut c| redis::cmd("CLUSTER").arg("INFO").query::<String>(&mut c))
                    .is_ok_and(|info| info.contains("cluster_state:ok"))
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

    /// The slot of `key`, as the cluster computes it (`CLUSTER KEYSLOT`).
    pub fn slot_of(&self, key: &str) -> u16 {
        redis::cmd("CLUSTER")
            .arg("KEYSLOT")
            .arg(key)
            .query(&mut self.nodes[0].raw())
            .expect("CLUSTER KEYSLOT")
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
            if known && self.announced_master_port() == Some(self.master.port()) {
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
