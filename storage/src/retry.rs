//! When a call that failed is sent again, and when it must not be.
//!
//! A failed call either was certainly not applied (the connection could not be opened, or
//! the server refused it unexecuted: a replica's `READONLY`, a cluster's `TRYAGAIN`,
//! `CLUSTERDOWN`, `MOVED`, a master still `LOADING`), or may have been (the connection
//! broke or timed out after the call was sent). The first kind is always safe to send again,
//! once the connection is rebuilt, maybe to a new master. The second kind is sent again only
//! if running it twice does what running it once does ([`Effect::Write`]); otherwise the
//! caller gets [`Error::OutcomeUnknown`] and decides.
//!
//! On a cluster or through Sentinel, failures are retried with jittered backoff until
//! `failover_wait` runs out, which is how a call rides through a failover. One server has no
//! failover to wait for: a broken connection is retried at once on a new one, a few times,
//! and anything else is the caller's error straight away. Pure: the modes' connections ask
//! it what to do.

use std::time::{Duration, Instant};

use crate::error::{refusal_code, Error};
use crate::model::Backoff;
use crate::topology::{ConnectionSettings, Topology};

/// A connection idle this long is checked with a `PING` before a write that must not run
/// twice, so that a connection the server closed meanwhile (it restarted) fails before the
/// write is sent rather than after, which would leave its outcome unknown.
pub(crate) const IDLE_CHECK_AFTER: Duration = Duration::from_millis(250);

/// When one call must be over: [`StorageConfig::call_timeout`] after it started. Every wait
/// inside the call (opening a connection, an answer, a pause between tries, a defaults
/// re-check) ends by then, so a call has one bound however many steps it takes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Deadline {
    at: Instant,
}

impl Deadline {
    /// The deadline of a call that starts now on connections with `settings`.
    pub(crate) fn for_call(settings: &ConnectionSettings) -> Self {
        Deadline::after(settings.call_timeout)
    }

    /// The deadline `wait` from now.
    pub(crate) fn after(wait: Duration) -> Self {
        Deadline {
            at: Instant::now() + wait,
        }
    }

    /// What is left before it.
    pub(crate) fn remaining(self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }

    /// Whether it has passed.
    pub(crate) fn passed(self) -> bool {
        Instant::now() >= self.at
    }

    /// `wait`, or what is left before the deadline if that is less.
    pub(crate) fn cap(self, wait: Duration) -> Duration {
        wait.min(self.remaining())
    }

    /// The error of a call whose deadline passed before its next step.
    pub(crate) fn expired() -> redis::RedisError {
        std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "the call's deadline (StorageConfig::call_timeout) passed",
        )
        .into()
    }
}

/// What a call does, which decides whether it may run twice and whether it waits for
/// replicas.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Effect {
    /// Reads only.
    Read,
    /// Writes, and a second run changes nothing more (a `SET` of the same record, a
    /// compare-and-set, an index repair).
    Write,
    /// Writes, and a second run differs from the first: consuming a one-time code, rotating
    /// a refresh token, taking a lock, creating only if absent.
    WriteOnce,
}

impl Effect {
    pub(crate) fn writes(self) -> bool {
        self != Effect::Read
    }
}

/// What to do after a failed attempt.
#[derive(Debug)]
pub(crate) enum Step {
    /// Rebuild the connection (to whichever node is master now), wait, and send again.
    Retry(Duration),
    /// Give up with this error.
    Fail(Error),
}

/// What a failure says about whether the call was applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Applied {
    /// Refused before it ran, or never sent.
    No,
    /// Sent, with no answer: maybe.
    Maybe,
    /// Redis ran it and answered with an error: nothing to retry.
    Answered,
}

/// Refusals that mean "not here, not now": the call did not run.
const REFUSED_UNRUN: [&str; 6] = [
    "READONLY",
    "TRYAGAIN",
    "CLUSTERDOWN",
    "MASTERDOWN",
    "LOADING",
    "MOVED",
];

fn applied(error: &redis::RedisError) -> Applied {
    let refusal = refusal_code(error);
    let code = refusal.as_deref().unwrap_or_default();
    if REFUSED_UNRUN.contains(&code) || code == "ASK" || error.is_connection_refusal() {
        Applied::No
    } else if error.is_connection_dropped() || error.is_io_error() || error.is_timeout() {
        Applied::Maybe
    } else {
        Applied::Answered
    }
}

/// Whether a failure means the connection should be rebuilt: it broke, or it reaches a node
/// that is no longer the master.
/// An answer that could not be parsed leaves the connection out of step with the server.
pub(crate) fn needs_new_connection(error: &redis::RedisError) -> bool {
    applied(error) != Applied::Answered || error.kind() == redis::ErrorKind::Parse
}

/// The retry budget of one call.
#[derive(Debug)]
pub(crate) struct RetryBudget {
    effect: Effect,
    follows_failover: bool,
    /// Until when a failed try may be followed by another: `failover_wait` on a cluster or
    /// through Sentinel, never past the call's own deadline.
    retry_until: Instant,
    call: Deadline,
    immediate_retries: u32,
    backoff: Backoff,
}

impl RetryBudget {
    /// A budget for one call that does `effect`, under `config`, ending by `call`; one server
    /// allows `immediate_retries` retries of a broken connection.
    pub(crate) fn new(
        settings: &ConnectionSettings,
        effect: Effect,
        immediate_retries: u32,
        call: Deadline,
    ) -> Self {
        RetryBudget {
            effect,
            follows_failover: settings.nodes.topology != Topology::Standalone,
            retry_until: (Instant::now() + settings.failover_wait).min(call.at),
            call,
            immediate_retries,
            backoff: Backoff::retry(),
        }
    }

    /// A jittered pause before the next try, if one fits before `retry_until`.
    fn retry(&mut self, error: Error) -> Step {
        if Instant::now() < self.retry_until {
            Step::Retry(self.call.cap(self.backoff.next_wait()))
        } else {
            Step::Fail(error)
        }
    }

    /// After no connection could be had: nothing was sent.
    pub(crate) fn after_connect_failure(&mut self, error: Error) -> Step {
        if self.follows_failover {
            self.retry(error)
        } else {
            Step::Fail(error)
        }
    }

    /// After the call failed with `error`.
    pub(crate) fn after(&mut self, error: redis::RedisError) -> Step {
        let applied = applied(&error);
        if applied == Applied::Maybe && self.effect == Effect::WriteOnce {
            return Step::Fail(Error::OutcomeUnknown {
                reason: error.to_string(),
            });
        }
        if applied == Applied::Answered {
            return Step::Fail(error.into());
        }
        if self.follows_failover || refusal_code(&error).as_deref() == Some("LOADING") {
            // A restarted server answers `LOADING` until its data is in: not ready yet, the
            // same on one server as after a failover.
            return self.retry(error.into());
        }
        if error.is_connection_dropped() && self.immediate_retries > 0 {
            self.immediate_retries -= 1;
            Step::Retry(Duration::ZERO)
        } else {
            Step::Fail(error.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StorageConfig;

    fn storage_config(url: &str) -> StorageConfig {
        StorageConfig::new(url)
            .unwrap()
            .with_key_prefix("{gw}:")
            .with_failover_wait(Duration::from_secs(60))
    }

    fn config(url: &str) -> ConnectionSettings {
        storage_config(url).connection_settings()
    }

    fn call(url: &str) -> Deadline {
        Deadline::for_call(&config(url))
    }

    fn dropped() -> redis::RedisError {
        std::io::Error::from(std::io::ErrorKind::ConnectionReset).into()
    }

    fn refused() -> redis::RedisError {
        std::io::Error::from(std::io::ErrorKind::ConnectionRefused).into()
    }

    fn server(kind: redis::ServerErrorKind) -> redis::RedisError {
        redis::RedisError::from((
            redis::ErrorKind::Server(kind),
            "server",
            "said no".to_owned(),
        ))
    }

    #[test]
    fn a_write_that_may_have_run_is_not_sent_twice() {
        for url in ["redis://h", "redis+sentinel://h:26379/gateway"] {
            let mut budget = RetryBudget::new(&config(url), Effect::WriteOnce, 3, call(url));
            let step = budget.after(dropped());
            assert!(
                matches!(step, Step::Fail(Error::OutcomeUnknown { .. })),
                "{url}: {step:?}"
            );
        }
    }

    #[test]
    fn a_refused_write_is_retried_while_a_failover_may_be_running() {
        let url = "redis+sentinel://h:26379/gateway";
        let mut budget = RetryBudget::new(&config(url), Effect::WriteOnce, 0, call(url));
        assert!(matches!(budget.after(refused()), Step::Retry(_)));
        let step = budget.after(server(redis::ServerErrorKind::ReadOnly));
        assert!(matches!(step, Step::Retry(_)), "{step:?}");
    }

    #[test]
    fn one_server_retries_a_broken_connection_a_few_times_and_nothing_else() {
        let mut budget =
            RetryBudget::new(&config("redis://h"), Effect::Write, 1, call("redis://h"));
        assert!(matches!(budget.after(dropped()), Step::Retry(wait) if wait.is_zero()));
        assert!(matches!(
            budget.after(dropped()),
            Step::Fail(Error::Connection { .. })
        ));
        let mut budget =
            RetryBudget::new(&config("redis://h"), Effect::Write, 1, call("redis://h"));
        assert!(matches!(
            budget.after(server(redis::ServerErrorKind::ReadOnly)),
            Step::Fail(Error::ReadOnly { .. })
        ));
    }

    #[test]
    fn a_loading_server_is_waited_for_within_the_call_and_no_longer() {
        let loading = || {
            redis::RedisError::from((
                redis::ErrorKind::Server(redis::ServerErrorKind::BusyLoading),
                "LOADING",
                "Redis is loading the dataset in memory".to_owned(),
            ))
        };
        assert_eq!(loading().code(), Some("LOADING"));
        let url = "redis://h";
        let mut budget = RetryBudget::new(&config(url), Effect::WriteOnce, 0, call(url));
        assert!(matches!(budget.after(loading()), Step::Retry(_)));
        let config = storage_config(url)
            .with_connect_timeout(Duration::from_millis(1))
            .with_response_timeout(Duration::from_millis(1))
            .connection_settings();
        let mut budget = RetryBudget::new(&config, Effect::Read, 0, Deadline::for_call(&config));
        std::thread::sleep(Duration::from_millis(5));
        assert!(matches!(budget.after(loading()), Step::Fail(_)));
    }

    #[test]
    fn a_deadline_caps_every_wait() {
        let config = storage_config("redis://h")
            .with_connect_timeout(Duration::from_millis(100))
            .with_response_timeout(Duration::from_millis(100))
            .connection_settings();
        let deadline = Deadline::for_call(&config);
        assert!(deadline.cap(Duration::from_secs(60)) <= Duration::from_millis(200));
        assert!(!deadline.passed());
        std::thread::sleep(Duration::from_millis(210));
        assert!(deadline.passed());
        assert_eq!(deadline.cap(Duration::from_secs(1)), Duration::ZERO);
    }

    #[test]
    fn errors_redis_answered_are_final() {
        let mut budget = RetryBudget::new(
            &config("redis+cluster://h:7000"),
            Effect::Write,
            3,
            call("redis+cluster://h:7000"),
        );
        assert!(matches!(
            budget.after(server(redis::ServerErrorKind::ResponseError)),
            Step::Fail(Error::Redis { .. })
        ));
    }

    #[test]
    fn the_failover_wait_bounds_the_retries() {
        let config = storage_config("redis+cluster://h:7000")
            .with_failover_wait(Duration::from_millis(1))
            .connection_settings();
        let mut budget = RetryBudget::new(&config, Effect::Write, 3, Deadline::for_call(&config));
        std::thread::sleep(Duration::from_millis(5));
        assert!(matches!(budget.after(refused()), Step::Fail(_)));
        let lost = Error::Connection {
            reason: "down".to_owned(),
        };
        assert!(matches!(budget.after_connect_failure(lost), Step::Fail(_)));
    }
}
