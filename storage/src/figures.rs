//! The figures the README and the pages of `docs/` state, checked against the code: a
//! default, a limit or a length written in prose must be what the code does, so a change to
//! one without the other fails here.

use std::time::Duration;

use regex::Regex;

use crate::StorageConfig;

const PAGES: [(&str, &str); 4] = [
    ("README.md", include_str!("../../README.md")),
    ("docs/guide.md", include_str!("../../docs/guide.md")),
    ("docs/reference.md", include_str!("../../docs/reference.md")),
    (
        "docs/architecture.md",
        include_str!("../../docs/architecture.md"),
    ),
];

/// A number as the docs write it (`10 000`).
fn number(text: &str) -> u64 {
    text.replace(' ', "").parse().unwrap()
}

fn duration(amount: &str, unit: &str) -> Duration {
    let amount = number(amount);
    match unit {
        "ms" => Duration::from_millis(amount),
        "s" => Duration::from_secs(amount),
        "min" => Duration::from_secs(amount * 60),
        "days" => Duration::from_secs(amount * 86_400),
        other => panic!("unit {other}"),
    }
}

/// Every setting a page gives a default for, as `` `name` (default 5 s) ``.
fn setting_default(config: &StorageConfig, name: &str) -> Option<Duration> {
    Some(match name {
        "connect_timeout" => config.connect_timeout,
        "response_timeout" => config.response_timeout,
        "challenge_ttl" => config.challenge_ttl,
        "lock_wait" => config.lock_wait,
        "code_ttl" => config.code_ttl,
        "state_ttl" => config.state_ttl,
        "device_ttl" => config.device_ttl,
        "device_interval" => config.device_interval,
        "refresh_grace" => config.refresh_grace,
        "refresh_family_ttl" => config.refresh_family_ttl,
        "defaults_check_interval" => config.defaults_check_interval,
        "live_reconcile_interval" => config.live_reconcile_interval,
        "live_snapshot_debounce" => config.live_snapshot_debounce,
        "failover_wait" => config.failover_wait,
        "replica_timeout" => config.replica_timeout,
        "history_age" => config.history_age,
        _ => return None,
    })
}

#[test]
fn every_default_the_pages_state_is_the_configurations() {
    let config = StorageConfig::new("redis://127.0.0.1").unwrap();
    let stated = Regex::new(r"`(\w+)` \(default ([0-9 ]+) (ms|s|min|days)\)").unwrap();
    let mut checked = 0;
    for (page, text) in PAGES {
        for found in stated.captures_iter(text) {
            let name = &found[1];
            let default = setting_default(&config, name)
                .unwrap_or_else(|| panic!("{page}: `{name}` is no setting with a default"));
            assert_eq!(default, duration(&found[2], &found[3]), "{page}: `{name}`");
            checked += 1;
        }
    }
    assert!(checked >= 12, "{checked}");
}

/// `(page, the phrase with its figures, the figures the code has)`.
fn figures() -> Vec<(&'static str, &'static str, Vec<u64>)> {
    let config = StorageConfig::new("redis://127.0.0.1").unwrap();
    let prologue = include_str!("lua/prologue.lua");
    let feed_length = Regex::new(r"local FEED_LENGTH = (\d+)")
        .unwrap()
        .captures(prologue)
        .map(|found| number(&found[1]))
        .unwrap();
    let kib = |bytes: usize| bytes as u64 / 1024;
    let age_check = Regex::new(r"local AGE_CHECK_EVERY = (\d+)")
        .unwrap()
        .captures(prologue)
        .map(|found| number(&found[1]))
        .unwrap();
    vec![
        (
            "docs/guide.md",
            r"goes within the\s+next ([0-9]+) changes \(a write looks at the oldest entry's age once every ([0-9]+) revisions",
            vec![age_check, age_check],
        ),
        (
            "docs/reference.md",
            r"\| `history` \| 1 per ([0-9 ]+) changes kept",
            vec![crate::commands::history::HISTORY_BATCH as u64],
        ),
        (
            "docs/reference.md",
            r"\| `diff_revisions` \| 1 \+ 1 per ([0-9 ]+) changes",
            vec![crate::commands::history::HISTORY_BATCH as u64],
        ),
        (
            "docs/reference.md",
            r"\| `plan_rollback` \| 1 \+ 1 per ([0-9 ]+) changes",
            vec![crate::commands::history::HISTORY_BATCH as u64],
        ),
        (
            "docs/guide.md",
            r"`history_changes` \(default ([0-9 ]+) changes",
            vec![config.history_changes as u64],
        ),
        (
            "docs/guide.md",
            r"the last `FEED_LENGTH` = ([0-9 ]+) entries",
            vec![feed_length],
        ),
        (
            "docs/reference.md",
            r"A `SCAN` step asks for ([0-9 ]+) keys",
            vec![crate::commands::SCAN_BATCH as u64],
        ),
        (
            "docs/guide.md",
            r"idle for more than ([0-9]+) ms",
            vec![crate::retry::IDLE_CHECK_AFTER.as_millis() as u64],
        ),
        (
            "docs/reference.md",
            r"at most ([0-9 ]+) characters",
            vec![crate::model::validate::MAX_HOSTNAME as u64],
        ),
        (
            "docs/reference.md",
            r"no control characters, at most ([0-9 ]+) bytes",
            vec![crate::model::validate::MAX_PATH as u64],
        ),
        (
            "docs/reference.md",
            r"within ([0-9 ]+) bytes and a ([0-9]+) KiB program",
            vec![
                crate::model::MAX_REGEX_LEN as u64,
                kib(crate::model::MAX_REGEX_PROGRAM),
            ],
        ),
        (
            "docs/reference.md",
            r"every string of a record at most ([0-9]+) KiB \(PEMs ([0-9]+) KiB\), a record at most ([0-9]+) KiB",
            vec![
                kib(crate::model::validate::MAX_STRING_BYTES),
                kib(crate::model::validate::MAX_PEM_BYTES),
                kib(crate::model::validate::MAX_RECORD_BYTES),
            ],
        ),
        (
            "docs/reference.md",
            r"`meta:index-version` \| `([0-9]+)`",
            vec![u64::from(crate::keys::INDEX_VERSION)],
        ),
    ]
}

#[test]
fn every_figure_the_pages_state_is_the_codes() {
    for (page, phrase, code) in figures() {
        let (_, text) = PAGES.iter().find(|(name, _)| *name == page).unwrap();
        let found = Regex::new(phrase)
            .unwrap()
            .captures(text)
            .unwrap_or_else(|| panic!("{page} no longer says /{phrase}/"));
        let stated: Vec<u64> = found
            .iter()
            .skip(1)
            .map(|figure| number(figure.unwrap().as_str()))
            .collect();
        assert_eq!(stated, code, "{page}: /{phrase}/");
    }
}
