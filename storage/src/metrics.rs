//! The metrics a storage records through the [`metrics`](https://docs.rs/metrics) facade,
//! with the `metrics` feature: install any recorder (Prometheus, OpenTelemetry, StatsD) and
//! they appear, in both modes. Without a recorder they cost next to nothing.
//!
//! Names follow OpenTelemetry's database-client semantic conventions where it has one
//! (`db.client.*`); the rest are this crate's (`gateway.storage.*`). A Prometheus exporter
//! writes the dots as underscores. Durations are in seconds. No label carries a key, a
//! value, a token or a secret: labels are operation names, modes, error kinds, family
//! names, default records and master addresses, all bounded.
//!
//! | name | type | labels |
//! | --- | --- | --- |
//! | `db.client.operation.duration` | histogram (s) | `db.system.name` (`redis`), `db.operation.name` (the operation, `get_proxy_target`), `mode` (`blocking`, `async`), `outcome` (`ok`, `error`), and on error `error.type` ([`Error::kind`](crate::Error::kind)) |
//! | `db.client.connection.count` | gauge | `db.client.connection.state`: `used` (a pooled blocking connection lent to a call, or a multiplexed one while a call is in flight on it), `idle`; summed over every storage of the process |
//! | `db.client.connection.wait_time` | histogram (s) | — (time a call waited for a connection, opening one included) |
//! | `gateway.storage.resends` | counter | — (calls sent again after a failure) |
//! | `gateway.storage.outcome_unknown` | counter | — (writes refused as [`Error::OutcomeUnknown`](crate::Error::OutcomeUnknown)) |
//! | `gateway.storage.reconnects` | counter | `server.address` (the master reached, or `cluster`) |
//! | `gateway.storage.failovers` | counter | `server.address` (the new master) |
//! | `gateway.storage.not_replicated` | counter | — (writes fewer replicas confirmed than asked) |
//! | `gateway.storage.feed.lag` | gauge (s) | `follower` (`watcher`, `live_config`) |
//! | `gateway.storage.feed.resyncs` | counter | `follower` (a data loss or trimmed feed met) |
//! | `gateway.storage.live.snapshot.age` | gauge (s) | — (since the live configuration last heard from Redis) |
//! | `gateway.storage.live.snapshot.revision` | gauge | — |
//! | `gateway.storage.defaults.reseeded` | counter | `record` (`proxy:localhost`, `route:…`) |
//! | `gateway.storage.corrupt_records` | counter | `family` (`proxy`, `route`, `certificate`, …, `oauth`, `other`) |
//!
//! The same figures, without this feature, are in `Storage::stats()`.
//!
//! ```text
//! // Any `metrics` recorder; here, metrics-exporter-prometheus' text page.
//! let page = metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder()?;
//! storage::metrics::describe();
//! // ... use the storage ...
//! println!("{}", page.render());
//! ```
//!
//! `cargo xtask demo --metrics` does exactly this and prints the page.

/// The metric names, one constant each.
pub mod names {
    /// How long each public operation took, by name, mode and outcome.
    pub const OPERATION_DURATION: &str = "db.client.operation.duration";
    /// Connections in use and idle.
    pub const CONNECTION_COUNT: &str = "db.client.connection.count";
    /// How long calls waited for a connection.
    pub const CONNECTION_WAIT_TIME: &str = "db.client.connection.wait_time";
    /// Calls sent again after a failure.
    pub const RESENDS: &str = "gateway.storage.resends";
    /// Writes refused as `OutcomeUnknown`.
    pub const OUTCOME_UNKNOWN: &str = "gateway.storage.outcome_unknown";
    /// Connections opened after a connection failure.
    pub const RECONNECTS: &str = "gateway.storage.reconnects";
    /// Connections opened to a new master.
    pub const FAILOVERS: &str = "gateway.storage.failovers";
    /// Writes that fewer replicas confirmed than asked.
    pub const NOT_REPLICATED: &str = "gateway.storage.not_replicated";
    /// How far a watcher or the live configuration is behind the newest change.
    pub const FEED_LAG: &str = "gateway.storage.feed.lag";
    /// Resyncs: a follower met a data loss or a trimmed feed.
    pub const FEED_RESYNCS: &str = "gateway.storage.feed.resyncs";
    /// Seconds since the live configuration last heard from Redis.
    pub const SNAPSHOT_AGE: &str = "gateway.storage.live.snapshot.age";
    /// The live configuration's revision.
    pub const SNAPSHOT_REVISION: &str = "gateway.storage.live.snapshot.revision";
    /// Default records written because they were missing or incomplete.
    pub const DEFAULTS_RESEEDED: &str = "gateway.storage.defaults.reseeded";
    /// Corrupt records met, by family.
    pub const CORRUPT_RECORDS: &str = "gateway.storage.corrupt_records";
}

/// Gives each metric its unit and help text in the installed recorder (Prometheus prints
/// them as `# HELP`). Call it once after installing the recorder; the metrics are recorded
/// without it too.
pub fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    use names::*;
    describe_histogram!(
        OPERATION_DURATION,
        Unit::Seconds,
        "Duration of storage operations."
    );
    describe_gauge!(
        CONNECTION_COUNT,
        "Connections to Redis, by state (used, idle)."
    );
    describe_histogram!(
        CONNECTION_WAIT_TIME,
        Unit::Seconds,
        "Time calls waited for a connection."
    );
    describe_counter!(RESENDS, "Calls sent again after a failure.");
    describe_counter!(OUTCOME_UNKNOWN, "Writes whose outcome is unknown.");
    describe_counter!(RECONNECTS, "Connections opened after a connection failure.");
    describe_counter!(FAILOVERS, "Failovers followed to a new master.");
    describe_counter!(
        NOT_REPLICATED,
        "Writes fewer replicas confirmed than asked."
    );
    describe_gauge!(
        FEED_LAG,
        Unit::Seconds,
        "How far a change-feed follower is behind the newest change."
    );
    describe_counter!(FEED_RESYNCS, "Change-feed resyncs (lost changes or data).");
    describe_gauge!(
        SNAPSHOT_AGE,
        Unit::Seconds,
        "Time since the live configuration last heard from Redis."
    );
    describe_gauge!(SNAPSHOT_REVISION, "Revision of the live configuration.");
    describe_counter!(
        DEFAULTS_RESEEDED,
        "Default records written because they were missing or incomplete."
    );
    describe_counter!(CORRUPT_RECORDS, "Corrupt records met, by family.");
}

#[cfg(test)]
mod tests {
    /// Every name declared in [`names`], read from this file's source, so one added there
    /// and nowhere else fails here.
    fn declared() -> Vec<String> {
        let pattern = regex::Regex::new(r#"pub const [A-Z_]+: &str = "([a-z._]+)";"#).unwrap();
        pattern
            .captures_iter(include_str!("metrics.rs"))
            .map(|found| found[1].to_owned())
            .collect()
    }

    #[test]
    fn every_metric_is_listed_in_the_guide_and_in_these_docs() {
        let names = declared();
        assert_eq!(names.len(), 14, "{names:?}");
        let guide = include_str!("../../docs/guide.md");
        let docs = include_str!("metrics.rs");
        for name in &names {
            let row = format!("| `{name}` |");
            assert!(guide.contains(&row), "docs/guide.md lacks a row for {name}");
            assert!(
                docs.contains(&format!("//! {row}")),
                "storage::metrics lacks {name}"
            );
        }
    }
}
