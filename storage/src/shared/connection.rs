//! How every call reaches Redis, in both modes and on every topology: on a connection from
//! the mode's [`Connection`], again when the retry budget allows (a broken connection, a
//! failover under way), followed by a `WAIT` for replicas when the configuration asks.
//!
//! The modes supply the connections (`take`, `give_back`) and run one call on one
//! (`Link::query`); what happens around that is written here once.

use std::time::Duration;

use redis::{Cmd, FromRedisValue, Pipeline, Value};

use super::{maybe, pause, Connection, Link};
use crate::commands::cluster::{by_slot, cluster_slots, masters, NodeAddress};
use crate::commands::{Call, ScriptCall};
use crate::error::{Error, Result};
use crate::retry::{needs_new_connection, Effect, RetryBudget, Step};

/// A connection idle this long is checked with a `PING` before a write that must not run
/// twice, so that a connection the server closed meanwhile (it restarted) fails before the
/// write is sent rather than after, which would leave its outcome unknown.
const IDLE_CHECK_AFTER: Duration = Duration::from_millis(250);

impl Connection {
    /// Runs `cmd`.
    #[maybe]
    pub(super) async fn cmd<T: FromRedisValue>(&self, cmd: &Cmd, effect: Effect) -> Result<T> {
        decode(self.run(Call::Cmd(cmd), effect).await?)
    }

    /// Runs `pipe`: one round trip, or on a cluster one per slot its keys live in.
    #[maybe]
    pub(super) async fn pipe<T: FromRedisValue>(
        &self,
        pipe: &Pipeline,
        effect: Effect,
    ) -> Result<T> {
        let pieces = if self.is_cluster() {
            by_slot(pipe)
        } else {
            None
        };
        let Some(pieces) = pieces else {
            return decode(self.run(Call::Pipe(pipe), effect).await?);
        };
        let mut replies = vec![Value::Nil; pipe.len()];
        for (positions, piece) in pieces {
            let piece_replies: Vec<Value> = decode(self.run(Call::Pipe(&piece), effect).await?)?;
            for (position, reply) in positions.into_iter().zip(piece_replies) {
                replies[position] = reply;
            }
        }
        decode(Value::Array(replies))
    }

    /// Runs a script call.
    #[maybe]
    pub(super) async fn script<T: FromRedisValue>(
        &self,
        call: &ScriptCall,
        effect: Effect,
    ) -> Result<T> {
        decode(self.run(Call::Script(call), effect).await?)
    }

    /// The nodes a keyspace scan visits: the one server or master, or every cluster master.
    #[maybe]
    pub(super) async fn scan_nodes(&self) -> Result<Vec<NodeAddress>> {
        if !self.is_cluster() {
            return Ok(vec![NodeAddress::Connected]);
        }
        let reply = self.run(Call::Cmd(&cluster_slots()), Effect::Read).await?;
        Ok(masters(&reply)?
            .into_iter()
            .map(|(host, port)| NodeAddress::Master { host, port })
            .collect())
    }

    /// Runs a read on one node.
    #[maybe]
    pub(super) async fn read_on<T: FromRedisValue>(
        &self,
        node: &NodeAddress,
        cmd: &Cmd,
    ) -> Result<T> {
        decode(self.run(Call::On(node, cmd), Effect::Read).await?)
    }

    #[maybe]
    async fn run(&self, call: Call<'_>, effect: Effect) -> Result<Value> {
        let key = call.first_key();
        let config = self.config();
        let mut budget = RetryBudget::new(config, effect, config.pool_size + 1);
        let mut stale_checks = 0;
        loop {
            let step = match self.take().await {
                Err(error) => budget.after_connect_failure(error),
                Ok(mut link) => {
                    if effect == Effect::WriteOnce
                        && link.idle_for() > IDLE_CHECK_AFTER
                        && stale_checks <= config.pool_size
                        && link.ping().await.is_err()
                    {
                        // Nothing of the call was sent: try it on another connection.
                        stale_checks += 1;
                        link.broken = true;
                        self.failed();
                        self.give_back(link);
                        continue;
                    }
                    let result = self.attempt(&mut link, call, effect, key.as_deref()).await;
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
                Step::Retry(wait) => pause(wait).await,
                Step::Fail(error) => return Err(error),
            }
        }
    }

    /// One try of `call` on `link`, and the wait for replicas after a write. The outer error
    /// is the connection's (the budget judges it); the inner one is the write's own.
    #[maybe]
    async fn attempt(
        &self,
        link: &mut Link,
        call: Call<'_>,
        effect: Effect,
        key: Option<&[u8]>,
    ) -> redis::RedisResult<Result<Value>> {
        let reply = link.query(call).await?;
        let config = self.config();
        let wanted = config.min_replicas;
        if wanted == 0 || !effect.writes() {
            return Ok(Ok(reply));
        }
        let acknowledged = link
            .wait_for_replicas(key, wanted, config.replica_timeout)
            .await?;
        Ok(if acknowledged >= wanted {
            Ok(reply)
        } else {
            Err(Error::NotReplicated {
                acknowledged,
                wanted,
            })
        })
    }
}

/// A reply as `T`, with redis-rs' own error for a reply of another shape.
fn decode<T: FromRedisValue>(reply: Value) -> Result<T> {
    T::from_redis_value(reply).map_err(|e| Error::from(redis::RedisError::from(e)))
}
