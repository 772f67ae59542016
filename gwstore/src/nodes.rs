//! Plain connections to the store's nodes, for the checks the storage API does not answer:
//! one connection that sees the store's keys, and one per master for a scan of the whole
//! keyspace, on one server, a cluster or a sentinel-watched master alike.

use redis::cluster::ClusterClient;
use redis::sentinel::{SentinelClient, SentinelNodeConnectionInfo, SentinelServerType};
use redis::{ConnectionLike, IntoConnectionInfo};
use storage::{RedisUrl, Topology};

/// A connection that sees every key of the store: routed by key on a cluster.
pub fn data(url: &RedisUrl) -> Result<Box<dyn ConnectionLike>, String> {
    let failed = |e: redis::RedisError| format!("connecting to Redis: {e}");
    Ok(match url.topology() {
        Topology::Standalone => Box::new(open(url.expose())?),
        Topology::Cluster => Box::new(
            ClusterClient::new(url.expose_nodes())
                .and_then(|client| client.get_connection())
                .map_err(failed)?,
        ),
        Topology::Sentinel => Box::new(sentinel_master(url)?.get_connection().map_err(failed)?),
    })
}

/// Every key matching `pattern` on each master, per master in the order of [`masters`].
pub fn scan(url: &RedisUrl, pattern: &str) -> Result<Vec<Vec<String>>, String> {
    masters(url)?
        .into_iter()
        .map(|mut master| {
            let keys = redis::cmd("SCAN")
                .cursor_arg(0)
                .arg("MATCH")
                .arg(pattern)
                .arg("COUNT")
                .arg(1000)
                .clone()
                .iter(&mut master)
                .map_err(|e| format!("SCAN: {e}"))?
                .filter_map(Result::ok)
                .collect();
            Ok(keys)
        })
        .collect()
}

/// A connection to each master: the server, the master Sentinel names, or every master of
/// the cluster, as `CLUSTER NODES` lists them.
pub fn masters(url: &RedisUrl) -> Result<Vec<redis::Connection>, String> {
    match url.topology() {
        Topology::Standalone => Ok(vec![open(url.expose())?]),
        Topology::Sentinel => Ok(vec![sentinel_master(url)?
            .get_connection()
            .map_err(|e| format!("connecting to the master: {e}"))?]),
        Topology::Cluster => {
            let seed = url.expose_nodes()[0];
            let listing: String = redis::cmd("CLUSTER")
                .arg("NODES")
                .query(&mut open(seed)?)
                .map_err(|e| format!("CLUSTER NODES: {e}"))?;
            cluster_masters(&listing)
                .iter()
                .map(|address| open(&with_address(seed, address)?))
                .collect()
        }
    }
}

/// The `host:port` of each healthy master in a `CLUSTER NODES` listing.
fn cluster_masters(listing: &str) -> Vec<String> {
    listing
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let flags = fields.get(2)?;
            let healthy_master = flags.contains("master") && !flags.contains("fail");
            healthy_master.then(|| fields.get(1)?.split('@').next().map(str::to_owned))?
        })
        .collect()
}

/// `seed` (a node URL with the credentials) pointing at `address` instead.
fn with_address(seed: &str, address: &str) -> Result<String, String> {
    let (scheme, rest) = seed
        .split_once("://")
        .ok_or("a node URL without a scheme")?;
    let credentials = rest
        .split_once('@')
        .map_or(String::new(), |(credentials, _)| format!("{credentials}@"));
    Ok(format!("{scheme}://{credentials}{address}/"))
}

fn open(url: &str) -> Result<redis::Connection, String> {
    redis::Client::open(url)
        .and_then(|client| client.get_connection())
        .map_err(|e| format!("connecting to Redis: {e}"))
}

/// A client of the master the sentinels name now.
fn sentinel_master(url: &RedisUrl) -> Result<redis::Client, String> {
    let failed = |e: redis::RedisError| format!("asking the sentinels for the master: {e}");
    let name = url
        .master_name()
        .ok_or("a sentinel URL without a master name")?;
    let settings = url
        .expose_master_settings()
        .ok_or("a sentinel URL without master settings")?
        .into_connection_info()
        .map_err(failed)?;
    let node = SentinelNodeConnectionInfo::default()
        .set_redis_connection_info(settings.redis_settings().clone());
    SentinelClient::build(
        url.expose_nodes(),
        name.to_owned(),
        Some(node),
        SentinelServerType::Master,
    )
    .and_then(|mut sentinel| sentinel.get_client())
    .map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn healthy_masters_are_read_from_cluster_nodes() {
        let listing = "\
a1 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-5460
b2 127.0.0.1:7001@17001 master - 0 0 2 connected 5461-10922
c3 127.0.0.1:7002@17002 master,fail - 0 0 3 connected
d4 127.0.0.1:7003@17003 slave a1 0 0 1 connected";
        assert_eq!(
            cluster_masters(listing),
            ["127.0.0.1:7000", "127.0.0.1:7001"]
        );
    }

    #[test]
    fn the_seed_credentials_go_to_every_master() {
        assert_eq!(
            with_address("redis://:pw@10.0.0.1:7000/", "10.0.0.2:7001").unwrap(),
            "redis://:pw@10.0.0.2:7001/"
        );
    }
}
