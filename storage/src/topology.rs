//! Which Redis deployment a URL names: one server, a Redis Cluster, or a master found
//! through Sentinel, and the node addresses behind it.
//!
//! A cluster or sentinel URL lists several hosts in its authority, which `url::Url` cannot
//! hold, so it is split here into one ordinary URL per node. The split is pure; the modes
//! turn it into redis-rs clients.

use std::time::Duration;

use crate::error::{Error, Result};

/// The kind of Redis deployment a [`RedisUrl`](crate::RedisUrl) names.
///
/// | URL | topology |
/// |---|---|
/// | `redis://host:6379/0`, `rediss://…`, `unix:///path` | [`Standalone`](Self::Standalone) |
/// | `redis+cluster://host:7000,host:7001` | [`Cluster`](Self::Cluster): the hosts are seeds |
/// | `redis+sentinel://host:26379,host:26380/gateway` | [`Sentinel`](Self::Sentinel): the hosts are sentinels, the path names the master |
///
/// Credentials in a cluster or sentinel URL are the data nodes' (`redis+sentinel://:pw@…`
/// authenticates to the master, not to the sentinels); `rediss+cluster` and
/// `rediss+sentinel` use TLS to every node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Topology {
    /// One Redis server at a fixed address.
    Standalone,
    /// A Redis Cluster, found from one or more seed nodes.
    Cluster,
    /// A master that Sentinel names, followed across failovers.
    Sentinel,
}

/// What opening a connection and running one call need of the configuration: where the
/// nodes are and how long to wait. Each storage's connections hold this, not the whole
/// `StorageConfig` (built by `StorageConfig::connection_settings`).
#[derive(Clone, Debug)]
pub(crate) struct ConnectionSettings {
    pub(crate) nodes: Nodes,
    pub(crate) connect_timeout: Duration,
    pub(crate) response_timeout: Duration,
    pub(crate) failover_wait: Duration,
    pub(crate) min_replicas: u32,
    pub(crate) replica_timeout: Duration,
    pub(crate) pool_size: u32,
    /// The bound of one call: `StorageConfig::call_timeout`.
    pub(crate) call_timeout: Duration,
}

/// A URL split into its topology and nodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Nodes {
    pub(crate) topology: Topology,
    /// The server, the cluster's seeds, or the sentinels: each a plain `redis://` or
    /// `rediss://` URL (cluster seeds carry the credentials; sentinels do not).
    pub(crate) urls: Vec<url::Url>,
    /// For a sentinel URL: the master's name, and a URL that carries only what connecting
    /// to the master needs (credentials, database).
    pub(crate) master: Option<(String, url::Url)>,
}

impl Nodes {
    /// Parses `text`; errors name the `url` setting and never echo the URL.
    pub(crate) fn parse(text: &str) -> Result<Self> {
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| Error::invalid("url", "has no scheme"))?;
        let (base, topology) = match scheme {
            "redis" | "rediss" | "unix" | "redis+unix" => {
                let url = url::Url::parse(text).map_err(|e| Error::invalid("url", e))?;
                check_tls(url.scheme())?;
                let database = match url.scheme() {
                    "redis" | "rediss" => url.path().trim_start_matches('/').to_owned(),
                    _ => url
                        .query_pairs()
                        .find(|(name, _)| name == "db")
                        .map(|(_, db)| db.into_owned())
                        .unwrap_or_default(),
                };
                check_database(&database)?;
                return Ok(Nodes {
                    topology: Topology::Standalone,
                    urls: vec![url],
                    master: None,
                });
            }
            "redis+cluster" => ("redis", Topology::Cluster),
            "rediss+cluster" => ("rediss", Topology::Cluster),
            "redis+sentinel" => ("redis", Topology::Sentinel),
            "rediss+sentinel" => ("rediss", Topology::Sentinel),
            other => {
                return Err(Error::invalid(
                    "url",
                    format!(
                        "scheme `{other}` is not redis, rediss, unix, redis+cluster or \
                         redis+sentinel"
                    ),
                ))
            }
        };
        let (authority, path) = match rest.find(['/', '?']) {
            Some(at) => rest.split_at(at),
            None => (rest, ""),
        };
        let (credentials, hosts) = match authority.rsplit_once('@') {
            Some((credentials, hosts)) => (format!("{credentials}@"), hosts),
            None => (String::new(), authority),
        };
        let node = |host: &str, with_credentials: bool, path: &str| {
            let credentials = if with_credentials {
                &credentials[..]
            } else {
                ""
            };
            url::Url::parse(&format!("{base}://{credentials}{host}{path}"))
                .map_err(|e| Error::invalid("url", format!("host `{host}`: {e}")))
        };
        check_tls(base)?;
        let sentinel = topology == Topology::Sentinel;
        let urls = hosts
            .split(',')
            .filter(|host| !host.is_empty())
            .map(|host| node(host, !sentinel, if sentinel { "" } else { path }))
            .collect::<Result<Vec<_>>>()?;
        if urls.is_empty() {
            return Err(Error::invalid("url", "names no host"));
        }
        let master = if sentinel {
            let path = path.split('?').next().unwrap_or_default();
            let mut segments = path.trim_start_matches('/').splitn(2, '/');
            let name = segments.next().unwrap_or_default();
            if name.is_empty() {
                return Err(Error::invalid(
                    "url",
                    "a sentinel URL names its master in the path: redis+sentinel://host:26379/<master>",
                ));
            }
            let db = segments.next().filter(|db| !db.is_empty()).unwrap_or("0");
            check_database(db)?;
            Some((name.to_owned(), node("master", true, &format!("/{db}"))?))
        } else {
            None
        };
        if topology == Topology::Cluster && !matches!(path.trim_start_matches('/'), "" | "0") {
            return Err(Error::invalid("url", "a Redis Cluster has only database 0"));
        }
        Ok(Nodes {
            topology,
            urls,
            master,
        })
    }
}

/// The ports a host without one means: Redis' and Sentinel's own defaults (redis-rs' too).
const DEFAULT_PORT: u16 = 6379;
const DEFAULT_SENTINEL_PORT: u16 = 26379;

impl Nodes {
    /// Where the nodes are, for errors: `host:port` of the server (or its socket's path),
    /// of each cluster seed, or of each sentinel with the master's name. Never credentials.
    pub(crate) fn address(&self) -> String {
        let default_port = match self.topology {
            Topology::Sentinel => DEFAULT_SENTINEL_PORT,
            Topology::Standalone | Topology::Cluster => DEFAULT_PORT,
        };
        let hosts: Vec<String> = self
            .urls
            .iter()
            .map(|url| match url.host_str() {
                // Redis' own default port: the url crate knows none for redis://.
                Some(host) => format!("{host}:{}", url.port().unwrap_or(default_port)),
                None => url.path().to_owned(),
            })
            .collect();
        let hosts = hosts.join(",");
        match (&self.master, self.topology) {
            (Some((name, _)), _) => format!("master `{name}` through sentinels {hosts}"),
            (None, Topology::Cluster) => format!("cluster {hosts}"),
            (None, _) => hosts,
        }
    }
}

/// Refuses a TLS scheme when this crate was built without TLS, instead of failing at the
/// first connection.
fn check_tls(scheme: &str) -> Result<()> {
    if scheme == "rediss" && !cfg!(feature = "tls") {
        return Err(Error::invalid(
            "url",
            "`rediss://` needs TLS, which this build of the `storage` crate leaves out: \
             enable its `tls` feature",
        ));
    }
    Ok(())
}

/// Refuses a database that is not a number (`redis://host/abc`); none means 0.
fn check_database(database: &str) -> Result<()> {
    if database.is_empty() || database.parse::<u16>().is_ok() {
        return Ok(());
    }
    Err(Error::invalid(
        "url",
        "the database (the URL's path, or `db=` for a socket) must be a number such as `/0`",
    ))
}

/// The redis-rs clients a topology is reached with, as both modes build them.
#[cfg(any(feature = "blocking", feature = "async"))]
pub(crate) mod clients {
    use std::time::Duration;

    use redis::cluster::{ClusterClient, ClusterClientBuilder};
    use redis::sentinel::{SentinelClient, SentinelNodeConnectionInfo, SentinelServerType};
    use redis::IntoConnectionInfo;

    use super::ConnectionSettings;
    use crate::error::{Error, Result};

    /// How many times redis-rs' cluster clients try one call themselves (a timed-out one
    /// too) before this crate's retry budget sees the failure: what a blocking cluster
    /// connection divides a call's remaining time by, so that its tries end by the
    /// deadline.
    pub(crate) const CLUSTER_TRIES: u32 = 3;

    /// How long redis-rs' cluster clients wait between their own retries of a redirected
    /// or refused call, in ms: short, because this crate's retry budget paces the rest.
    const CLUSTER_RETRY_WAIT_MS: (u64, u64) = (10, 100);

    fn bad_url(error: impl std::fmt::Display) -> Error {
        Error::invalid("url", error)
    }

    /// A client of the one server.
    pub(crate) fn server(settings: &ConnectionSettings) -> Result<redis::Client> {
        let info = settings.nodes.urls[0]
            .as_str()
            .into_connection_info()
            .map_err(bad_url)?;
        let settings = bounded_setup(info.redis_settings());
        redis::Client::open(info.set_redis_settings(settings)).map_err(bad_url)
    }

    /// `settings` without the `CLIENT SETINFO` pair redis-rs sends on every new connection:
    /// the blocking client waits for each of its answers in turn, so a server that accepts
    /// and never answers would hold a blocking connect for twice `connect_timeout` and an
    /// async one for once. Without it a connection sends only what it needs (`AUTH`,
    /// `SELECT`), and both modes wait the same.
    fn bounded_setup(settings: &redis::RedisConnectionInfo) -> redis::RedisConnectionInfo {
        settings.clone().set_skip_set_lib_name()
    }

    /// A cluster client whose calls time out after `response_timeout`.
    pub(crate) fn cluster(
        settings: &ConnectionSettings,
        response_timeout: Duration,
    ) -> Result<ClusterClient> {
        let seeds = settings
            .nodes
            .urls
            .iter()
            .map(|url| {
                let info = url.as_str().into_connection_info().map_err(bad_url)?;
                let settings = bounded_setup(info.redis_settings());
                Ok(info.set_redis_settings(settings))
            })
            .collect::<Result<Vec<_>>>()?;
        ClusterClientBuilder::new(seeds)
            .connection_timeout(settings.connect_timeout)
            .response_timeout(response_timeout)
            .retries(CLUSTER_TRIES - 1)
            .min_retry_wait(CLUSTER_RETRY_WAIT_MS.0)
            .max_retry_wait(CLUSTER_RETRY_WAIT_MS.1)
            .build()
            .map_err(bad_url)
    }

    /// A client that asks the sentinels for the master's address.
    pub(crate) fn sentinel(settings: &ConnectionSettings) -> Result<SentinelClient> {
        let nodes = &settings.nodes;
        let (name, master) = nodes
            .master
            .as_ref()
            .ok_or_else(|| bad_url("a sentinel URL names its master"))?;
        let master = master.as_str().into_connection_info().map_err(bad_url)?;
        let mut node = SentinelNodeConnectionInfo::default()
            .set_redis_connection_info(bounded_setup(master.redis_settings()));
        if nodes.urls[0].scheme() == "rediss" {
            node = node.set_tls_mode(redis::TlsMode::Secure);
        }
        let sentinels: Vec<&str> = nodes.urls.iter().map(url::Url::as_str).collect();
        SentinelClient::build(
            sentinels,
            name.clone(),
            Some(node),
            SentinelServerType::Master,
        )
        .map_err(bad_url)
    }
}

/// Checks that `prefix` gives every configuration key one cluster slot: it must start with a
/// non-empty hash tag (`{gw}:`), because Redis hashes only the first `{…}` of a key.
pub(crate) fn check_cluster_prefix(prefix: &str) -> Result<()> {
    let tag = prefix
        .strip_prefix('{')
        .and_then(|rest| rest.split_once('}'))
        .map(|(tag, _)| tag);
    match tag {
        Some(tag) if !tag.is_empty() => Ok(()),
        _ => Err(Error::invalid(
            "key_prefix",
            "a Redis Cluster needs a prefix that starts with a hash tag, such as `{gw}:`: \
             the scripts that keep a record and its indexes consistent touch several keys, \
             and Redis runs a script only when all its keys share one slot; the existing \
             deployment's unprefixed layout cannot be atomic on a cluster",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standalone_urls_keep_their_single_node() {
        let nodes = Nodes::parse("redis://:pw@127.0.0.1:6379/2").unwrap();
        assert_eq!(nodes.topology, Topology::Standalone);
        assert_eq!(nodes.urls.len(), 1);
        assert_eq!(nodes.urls[0].password(), Some("pw"));
    }

    #[test]
    fn cluster_urls_give_one_seed_per_host_with_the_credentials() {
        let nodes = Nodes::parse("redis+cluster://u:pw@127.0.0.1:7000,127.0.0.1:7001/").unwrap();
        assert_eq!(nodes.topology, Topology::Cluster);
        let seeds: Vec<String> = nodes.urls.iter().map(|u| u.to_string()).collect();
        assert_eq!(
            seeds,
            [
                "redis://u:pw@127.0.0.1:7000/",
                "redis://u:pw@127.0.0.1:7001/"
            ]
        );
        assert!(Nodes::parse("redis+cluster://127.0.0.1:7000/3").is_err());
        assert!(Nodes::parse("redis+cluster://").is_err());
    }

    #[test]
    fn sentinel_urls_name_the_master_and_keep_credentials_off_the_sentinels() {
        let nodes =
            Nodes::parse("redis+sentinel://:pw@10.0.0.1:26379,10.0.0.2:26379/gateway/3").unwrap();
        assert_eq!(nodes.topology, Topology::Sentinel);
        assert_eq!(nodes.urls.len(), 2);
        assert!(nodes.urls.iter().all(|u| u.password().is_none()));
        assert!(nodes.urls.iter().all(|u| u.scheme() == "redis"));
        let (name, master) = nodes.master.unwrap();
        assert_eq!(name, "gateway");
        assert_eq!(master.password(), Some("pw"));
        assert_eq!(master.path(), "/3");
        let error = Nodes::parse("redis+sentinel://:secret@10.0.0.1:26379").unwrap_err();
        assert!(error.to_string().contains("names its master"));
        assert!(!error.to_string().contains("secret"));
    }

    #[test]
    fn tls_without_the_feature_and_databases_that_are_no_number_are_refused_at_once() {
        for url in [
            "rediss://:secret@h:6380/0",
            "rediss+cluster://:secret@h:7000",
            "rediss+sentinel://:secret@h:26379/gateway",
        ] {
            let parsed = Nodes::parse(url);
            if cfg!(feature = "tls") {
                assert!(parsed.is_ok(), "{url}");
            } else {
                let error = parsed.unwrap_err().to_string();
                assert!(error.contains("`tls` feature"), "{url}: {error}");
                assert!(!error.contains("secret"), "{error}");
            }
        }
        for url in [
            "redis://:secret@h:6379/abc",
            "unix:///tmp/r.sock?db=x",
            "redis+sentinel://h:26379/gateway/one",
        ] {
            let error = Nodes::parse(url).unwrap_err().to_string();
            assert!(error.contains("must be a number"), "{url}: {error}");
            assert!(!error.contains("secret"), "{error}");
        }
        assert!(Nodes::parse("unix:///tmp/r.sock?db=2").is_ok());
    }

    #[test]
    fn addresses_name_hosts_and_ports_and_never_credentials() {
        let address = |url: &str| Nodes::parse(url).unwrap().address();
        assert_eq!(address("redis://:pw@10.0.0.1/0"), "10.0.0.1:6379");
        assert_eq!(address("unix:///run/redis.sock?pass=pw"), "/run/redis.sock");
        assert_eq!(
            address("redis+cluster://u:pw@h1:7000,h2:7001"),
            "cluster h1:7000,h2:7001"
        );
        assert_eq!(
            address("redis+sentinel://:pw@s1:26379,s2:26380/gateway"),
            "master `gateway` through sentinels s1:26379,s2:26380"
        );
    }

    #[test]
    fn unknown_schemes_are_refused_without_echoing_the_url() {
        let error = Nodes::parse("http://:secret@host").unwrap_err();
        assert!(!error.to_string().contains("secret"));
    }

    #[test]
    fn a_cluster_prefix_must_start_with_a_hash_tag() {
        assert!(check_cluster_prefix("{gw}:").is_ok());
        for bad in ["", "gw:", "{}:", "gw:{x}:", "{gw"] {
            let error = check_cluster_prefix(bad).unwrap_err();
            assert!(error.to_string().contains("hash tag"), "{bad}: {error}");
        }
    }
}
