//! Configuring one server, a Redis Cluster and a master behind Sentinel. Nothing here
//! connects: `Storage::new` only checks the configuration, and connects on first use.
//!
//! `cargo run -p storage --features blocking --example topologies`

use std::time::Duration;

use storage::blocking::Storage;
use storage::StorageConfig;

fn main() -> Result<(), storage::Error> {
    // One server, with the timeouts that bound every call (see `call_timeout`).
    let server = StorageConfig::new("redis://:secret@127.0.0.1:6379/0")?
        .with_connect_timeout(Duration::from_secs(2))
        .with_response_timeout(Duration::from_secs(1))
        .with_pool_size(32);
    println!(
        "{:?} ends each call within {:?}",
        server.url,
        server.call_timeout()
    );

    // A cluster: the hosts are seeds; `cluster` sets the hash-tag prefix `{gw}:` that keeps
    // each configuration write one atomic script.
    let cluster =
        StorageConfig::cluster(["redis://:pw@10.0.0.1:7000", "redis://:pw@10.0.0.2:7000"])?
            .with_failover_wait(Duration::from_secs(10));
    println!("cluster, keys under {:?}", cluster.key_prefix);

    // Sentinel: the sentinels find the master `gateway`; the password is the master's.
    // Each write waits until one replica has it, for at most 500 ms.
    let sentinel =
        StorageConfig::new("redis+sentinel://:pw@10.0.0.1:26379,10.0.0.2:26379/gateway")?
            .with_min_replicas(1, Duration::from_millis(500));
    println!("sentinel: {:?}", sentinel.url);

    // The password is never printed, by Debug or Display, nor in any error.
    for config in [server, cluster, sentinel] {
        let storage = Storage::new(config)?;
        assert!(!format!("{storage:?}").contains("secret"));
    }
    Ok(())
}
