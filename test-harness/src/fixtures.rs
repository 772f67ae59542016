//! The existing deployment's records, exactly as its storage layer wrote them.
//!
//! One JSON line per record in `fixtures/legacy-records.jsonl`, each saying what it
//! exercises. Group `deployment` is what a running deployment holds; group `later-writes`
//! is what legacy processes write afterwards (a pending certificate, an auth config).

use std::sync::OnceLock;

/// The file, compiled in: tests and tools read nothing outside the repository at run time.
const SOURCE: &str = include_str!("../../fixtures/legacy-records.jsonl");

/// One record as the old layer stored it.
#[derive(Clone, Debug)]
pub struct LegacyRecord {
    /// What the record is there to exercise.
    pub exercises: String,
    /// `deployment` or `later-writes`.
    pub group: String,
    /// Its key, without a prefix.
    pub key: String,
    /// The string value, for string keys.
    pub value: Option<String>,
    /// The members, for set keys.
    pub set: Option<Vec<String>>,
    /// The TTL the old layer gave it.
    pub ttl_seconds: Option<u64>,
}

impl LegacyRecord {
    /// The string value; panics for a set, which no caller asks a string of.
    pub fn text(&self) -> &str {
        self.value
            .as_deref()
            .unwrap_or_else(|| panic!("fixture {} is a set", self.key))
    }

    /// Writes the record under `prefix` as the old layer did: `SET` (with `EX`) or `SADD`.
    pub fn store(&self, connection: &mut dyn redis::ConnectionLike, prefix: &str) {
        let key = format!("{prefix}{}", self.key);
        let cmd = match (&self.value, &self.set) {
            (Some(value), _) => {
                let mut cmd = redis::cmd("SET");
                cmd.arg(&key).arg(value);
                if let Some(ttl) = self.ttl_seconds {
                    cmd.arg("EX").arg(ttl);
                }
                cmd
            }
            (None, Some(members)) => {
                let mut cmd = redis::cmd("SADD");
                cmd.arg(&key).arg(members);
                cmd
            }
            (None, None) => panic!("fixture {} has neither value nor set", self.key),
        };
        cmd.query::<()>(connection)
            .unwrap_or_else(|e| panic!("store fixture {key}: {e}"));
    }
}

/// Every record in the file, in file order.
pub fn all() -> &'static [LegacyRecord] {
    static RECORDS: OnceLock<Vec<LegacyRecord>> = OnceLock::new();
    RECORDS.get_or_init(|| SOURCE.lines().map(parse).collect())
}

fn parse(line: &str) -> LegacyRecord {
    let doc: serde_json::Value = serde_json::from_str(line).expect("fixture line is JSON");
    let text = |field: &str| doc[field].as_str().map(str::to_owned);
    LegacyRecord {
        exercises: text("exercises").expect("exercises"),
        group: text("group").expect("group"),
        key: text("key").expect("key"),
        value: text("value"),
        set: doc["set"].as_array().map(|members| {
            members
                .iter()
                .map(|m| m.as_str().expect("set member").to_owned())
                .collect()
        }),
        ttl_seconds: doc["ttl_seconds"].as_u64(),
    }
}

/// The records of `group`.
pub fn group(group: &str) -> Vec<&'static LegacyRecord> {
    all().iter().filter(|r| r.group == group).collect()
}

/// What a running deployment holds (group `deployment`).
pub fn deployment() -> Vec<&'static LegacyRecord> {
    group("deployment")
}

/// The record at `key`.
pub fn record(key: &str) -> &'static LegacyRecord {
    all()
        .iter()
        .find(|r| r.key == key)
        .unwrap_or_else(|| panic!("no fixture {key}"))
}

/// Writes the deployment's records under `prefix`.
pub fn load_deployment(connection: &mut dyn redis::ConnectionLike, prefix: &str) {
    for record in deployment() {
        record.store(connection, prefix);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_parses_and_says_what_it_exercises() {
        assert_eq!(all().len(), SOURCE.lines().count());
        for record in all() {
            assert!(!record.exercises.is_empty(), "{}", record.key);
            assert!(
                record.value.is_some() != record.set.is_some(),
                "{}",
                record.key
            );
        }
        assert_eq!(deployment().len(), 17);
        assert!(record("cert:pending-cert")
            .text()
            .contains("\"fullchain_pem\":null"));
    }
}
