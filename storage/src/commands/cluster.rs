//! What running on a Redis Cluster or with replicas adds: `WAIT`, the masters to scan, and
//! pipelines cut into one per slot.
//!
//! redis-rs routes a pipeline by its first command, so a pipeline whose keys live in several
//! slots (an access token and its user's and client's grant indexes, each under its own hash
//! tag) must be cut before it is sent to a cluster.

use std::collections::BTreeMap;
use std::time::Duration;

use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, Slot, SlotAddr};
use redis::{Cmd, Pipeline, Value};

use crate::error::{Error, Result};

/// A node a command is sent to directly: a step of a keyspace scan goes to one master, a
/// `WAIT` to the master that took the write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    /// The node the connection reaches: the one server, or the master Sentinel named.
    Connected,
    /// One master of a cluster, by address.
    Master {
        /// Its host, as the cluster announces it.
        host: String,
        /// Its port.
        port: u16,
    },
    /// The cluster master serving this key's slot (on one server, that server).
    MasterOf(Vec<u8>),
}

impl Node {
    /// How a cluster connection reaches the node; `None` for the connected node.
    pub fn routing(&self) -> Option<RoutingInfo> {
        let single = match self {
            Node::Connected => return None,
            Node::Master { host, port } => SingleNodeRoutingInfo::ByAddress {
                host: host.clone(),
                port: *port,
            },
            Node::MasterOf(key) => {
                SingleNodeRoutingInfo::SpecificNode(Route::with_key(key, SlotAddr::Master))
            }
        };
        Some(RoutingInfo::SingleNode(single))
    }
}

/// `WAIT replicas timeout_ms`: blocks until `replicas` replicas have every earlier write of
/// the connection, or the timeout. Reply: how many did.
pub fn wait(replicas: u32, timeout: Duration) -> Cmd {
    let mut cmd = redis::cmd("WAIT");
    cmd.arg(replicas)
        .arg(u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX));
    cmd
}

/// `CLUSTER SLOTS`: which node serves which slots.
pub fn cluster_slots() -> Cmd {
    redis::cmd("CLUSTER").arg("SLOTS").to_owned()
}

/// The masters' `(host, port)` in a `CLUSTER SLOTS` reply, each once.
pub fn masters(reply: &Value) -> Result<Vec<(String, u16)>> {
    let bad = || Error::Protocol {
        reason: "CLUSTER SLOTS reply has no master address".to_owned(),
    };
    let Value::Array(ranges) = reply else {
        return Err(bad());
    };
    let mut masters = Vec::new();
    for range in ranges {
        let Value::Array(fields) = range else {
            return Err(bad());
        };
        let Some(Value::Array(master)) = fields.get(2) else {
            return Err(bad());
        };
        let host = match master.first() {
            Some(Value::BulkString(host)) => String::from_utf8_lossy(host).into_owned(),
            Some(Value::SimpleString(host)) => host.clone(),
            _ => return Err(bad()),
        };
        let port = match master.get(1) {
            Some(Value::Int(port)) => u16::try_from(*port).map_err(|_| bad())?,
            _ => return Err(bad()),
        };
        if !masters.contains(&(host.clone(), port)) {
            masters.push((host, port));
        }
    }
    Ok(masters)
}

/// The key a command acts on: its first argument after the name, for every command this
/// crate pipelines (`SET`, `DEL`, `ZADD`, `SADD`, `EXPIRE`, `PEXPIRE`, `HSET`).
pub fn key_of(cmd: &Cmd) -> Option<&[u8]> {
    match cmd.args_iter().nth(1)? {
        redis::Arg::Simple(key) => Some(key),
        _ => None,
    }
}

/// `pipe` cut into one pipeline per slot, each with the positions its commands had, in
/// the order their slots first appear; `None` when one pipeline already fits one slot.
/// The pieces keep no `ignore` marks: the caller gets every command's reply, so a pipeline
/// cut this way must either ignore nothing or be run for `()`.
pub fn by_slot(pipe: &Pipeline) -> Option<Vec<(Vec<usize>, Pipeline)>> {
    if pipe.is_transaction() {
        return None;
    }
    let mut order: Vec<Option<Slot>> = Vec::new();
    let mut groups: BTreeMap<usize, (Vec<usize>, Pipeline)> = BTreeMap::new();
    for (position, cmd) in pipe.cmd_iter().enumerate() {
        let slot = key_of(cmd).map(Slot::for_key);
        let group = match order.iter().position(|known| *known == slot) {
            Some(group) => group,
            None => {
                order.push(slot);
                order.len() - 1
            }
        };
        let (positions, piece) = groups
            .entry(group)
            .or_insert_with(|| (Vec::new(), redis::pipe()));
        positions.push(position);
        piece.add_command(cmd.clone());
    }
    (groups.len() > 1).then(|| groups.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pipeline_over_several_slots_is_cut_by_slot_keeping_positions() {
        let mut pipe = redis::pipe();
        pipe.set("{a}:1", "x")
            .ignore()
            .sadd("{b}:set", "m")
            .cmd("PEXPIRE")
            .arg("{a}:2")
            .arg(10);
        let pieces = by_slot(&pipe).expect("two slots");
        let positions: Vec<Vec<usize>> = pieces.iter().map(|(p, _)| p.clone()).collect();
        assert_eq!(positions, vec![vec![0, 2], vec![1]]);
        assert_eq!(pieces[0].1.len(), 2);
    }

    #[test]
    fn one_slot_and_transactions_stay_whole() {
        let mut pipe = redis::pipe();
        pipe.set("{a}:1", "x").set("{a}:2", "y");
        assert!(by_slot(&pipe).is_none());
        let mut transaction = redis::pipe();
        transaction.atomic().set("{a}:1", "x").set("{b}:2", "y");
        assert!(by_slot(&transaction).is_none());
    }

    #[test]
    fn masters_are_read_from_cluster_slots_once_each() {
        let node = |port: i64| {
            Value::Array(vec![
                Value::BulkString(b"127.0.0.1".to_vec()),
                Value::Int(port),
                Value::BulkString(b"id".to_vec()),
            ])
        };
        let reply = Value::Array(vec![
            Value::Array(vec![Value::Int(0), Value::Int(10), node(7000), node(7003)]),
            Value::Array(vec![Value::Int(11), Value::Int(20), node(7001)]),
            Value::Array(vec![Value::Int(21), Value::Int(30), node(7000)]),
        ]);
        let found = masters(&reply).unwrap();
        assert_eq!(
            found,
            vec![
                ("127.0.0.1".to_owned(), 7000),
                ("127.0.0.1".to_owned(), 7001)
            ]
        );
        assert!(masters(&Value::Int(1)).is_err());
    }
}
