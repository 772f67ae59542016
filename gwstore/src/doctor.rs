//! `gwstore doctor`: everything that is wrong with the store, and the safe repairs.
//!
//! The checks only read (through a storage that never seeds). `--fix` applies only repairs
//! that cannot lose anything: re-index (adds index entries and expiry scores), re-seed
//! (creates the default records that are missing, and rewrites a stored `localhost` that
//! lacks the OAuth excluded paths or resource fields with them added, its other fields as
//! they were), and drops index entries whose record is gone. It deletes no record, and
//! rewrites none but such a `localhost`.

use std::time::Duration;

use storage::blocking::Storage;
use storage::{CorruptRecord, DEFAULT_PROXIES, DEFAULT_ROUTES};

use crate::nodes;
use crate::terminal::{paint, plural, progress, BAD, GOOD, WARN};
use crate::{explain, looking, seeding, Cli, Outcome};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Apply the safe repairs (re-index, re-seed, drop dangling index entries), then check
    /// again.
    #[arg(long)]
    fix: bool,
    /// Report certificates that expire within this many days.
    #[arg(long, default_value_t = 30)]
    days: u64,
    /// One JSON document for scripts: the findings, each with its fix.
    #[arg(long)]
    json: bool,
}

/// One thing found wrong.
struct Finding {
    what: String,
    /// The repair `--fix` applies, if there is a safe one.
    fix: Option<&'static str>,
}

pub fn run(cli: &Cli, args: &Args) -> Result<Outcome, String> {
    let storage = looking(cli)?;
    let findings = check(&storage, args)?;
    if !args.fix || findings.iter().all(|f| f.fix.is_none()) {
        return Ok(report(&findings, args.json));
    }
    // As JSON, one document: the findings that remain after the repair.
    if !args.json {
        report(&findings, false);
        println!("\nrepairing: re-index, re-seed, drop dangling index entries");
    }
    let fixer = seeding(cli)?;
    fixer.initialize().map_err(explain)?;
    fixer.reindex().map_err(explain)?;
    let dropped = fixer.drop_dangling_index_entries().map_err(explain)?;
    if !args.json {
        println!(
            "dropped {}\n",
            plural(
                dropped.total(),
                "dangling index entry",
                "dangling index entries"
            )
        );
    }
    Ok(report(&check(&storage, args)?, args.json))
}

/// An instant as a date an operator reads: `2026-12-01 00:00:00 UTC`.
fn date(epoch: i64) -> String {
    chrono::DateTime::from_timestamp(epoch, 0).map_or_else(
        || format!("epoch {epoch}"),
        |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    )
}

fn report(findings: &[Finding], as_json: bool) -> Outcome {
    let outcome = if findings.is_empty() {
        Outcome::Clean
    } else {
        Outcome::Findings
    };
    if as_json {
        let findings: Vec<serde_json::Value> = findings
            .iter()
            .map(|f| serde_json::json!({ "finding": f.what, "fix": f.fix }))
            .collect();
        println!(
            "{}",
            serde_json::json!({ "healthy": outcome == Outcome::Clean, "findings": findings })
        );
        return outcome;
    }
    if findings.is_empty() {
        println!("{}", paint("healthy: nothing to report", GOOD));
        return Outcome::Clean;
    }
    for finding in findings {
        let fix = finding
            .fix
            .map_or(String::new(), |fix| format!(" (--fix: {fix})"));
        println!("{} {}{fix}", paint("finding", WARN), finding.what);
    }
    println!("{}", plural(findings.len(), "finding", "findings"));
    outcome
}

fn check(storage: &Storage, args: &Args) -> Result<Vec<Finding>, String> {
    let error = explain;
    let bar = progress(5);
    let mut findings = Vec::new();

    bar.set_message("records");
    let proxies = storage.list_proxy_targets().map_err(error)?;
    let routes = storage.list_all_routes().map_err(error)?;
    let certs = storage.list_certificates().map_err(error)?;
    let auth = storage.list_auth_configs().map_err(error)?;
    let clients = storage.list_clients().map_err(error)?;
    for corrupt in [
        &proxies.corrupt,
        &routes.corrupt,
        &certs.corrupt,
        &auth.corrupt,
        &clients.corrupt,
    ] {
        findings.extend(corrupt.iter().map(corrupt_finding));
    }
    bar.inc(1);

    bar.set_message("indexes");
    let status = storage.migration_status().map_err(error)?;
    let unseen = match status.phase {
        storage::MigrationPhase::Finished => {
            "the migration is finished, so listings do not show it: a process of the old layer \
             still writes (stop it, or `gwstore migrate rollback`)"
        }
        storage::MigrationPhase::Mixed => "listings find it by a keyspace scan until then",
    };
    findings.extend(status.unindexed_keys.iter().map(|key| Finding {
        what: format!("`{key}` is missing from its index set; {unseen}"),
        fix: Some("re-index"),
    }));
    for (family, dangling) in status.dangling.by_family() {
        if dangling > 0 {
            findings.push(Finding {
                what: format!(
                    "{family}: {} no record",
                    plural(dangling, "index entry names", "index entries name")
                ),
                fix: Some("drop dangling entries"),
            });
        }
    }
    bar.inc(1);

    bar.set_message("expiry index");
    let scores = expiry_scores(storage)?;
    for cert in &certs.records {
        let own = cert.expires_at.as_ref().map(|t| t.instant().timestamp());
        let indexed = scores.get(&cert.cert_name).copied();
        if own != indexed {
            findings.push(Finding {
                what: format!(
                    "expiry index says {} for `{}`, its record says {}",
                    indexed.map_or("nothing".into(), date),
                    cert.cert_name,
                    own.map_or("no expiry".into(), date),
                ),
                fix: own.is_some().then_some("re-index"),
            });
        }
    }
    bar.inc(1);

    bar.set_message("defaults");
    for default in DEFAULT_PROXIES {
        match proxies
            .records
            .iter()
            .find(|p| p.proxy_hostname == default.hostname)
        {
            None => findings.push(Finding {
                what: format!("default proxy `{}` is missing", default.hostname),
                fix: Some("re-seed"),
            }),
            Some(_) => {
                // As stored, not as this crate reads it: its reads add the required paths
                // whoever wrote the record, but an old-layer reader sees only what is there.
                let stored = stored_excluded_paths(storage, default.hostname)?;
                let missing: Vec<&str> = default
                    .auth_excluded_paths
                    .iter()
                    .copied()
                    .filter(|path| !stored.iter().any(|s| s == path))
                    .collect();
                if !missing.is_empty() {
                    findings.push(Finding {
                        what: format!(
                            "`{}` is stored without {missing:?} in its excluded paths: old-layer \
                             readers demand a token at those OAuth endpoints",
                            default.hostname
                        ),
                        fix: Some("re-seed"),
                    });
                }
            }
        }
    }
    for default in DEFAULT_ROUTES {
        if !routes
            .records
            .iter()
            .any(|r| r.route_id == default.route_id)
        {
            findings.push(Finding {
                what: format!("default route `{}` is missing", default.route_id),
                fix: Some("re-seed"),
            });
        }
    }
    bar.inc(1);

    bar.set_message("certificates due");
    let within = Duration::from_secs(args.days.saturating_mul(86_400));
    let until = std::time::SystemTime::now() + within;
    for cert in &certs.records {
        let Some(expires) = &cert.expires_at else {
            continue;
        };
        let at = std::time::SystemTime::from(expires.instant());
        if at > until {
            continue;
        }
        let when = date(expires.instant().timestamp());
        let state = if at <= std::time::SystemTime::now() {
            format!("expired on {when}")
        } else {
            format!(
                "expires on {when}, within {}",
                plural(args.days as usize, "day", "days")
            )
        };
        findings.push(Finding {
            what: format!(
                "certificate `{}` ({}) {state}",
                cert.cert_name,
                cert.domains.join(", ")
            ),
            fix: None,
        });
    }
    for cert in &certs.records {
        let missing: Vec<&str> = [
            ("private key", cert.private_key_pem.is_none()),
            ("certificate chain", cert.fullchain_pem.is_none()),
        ]
        .into_iter()
        .filter_map(|(what, missing)| missing.then_some(what))
        .collect();
        if !missing.is_empty() {
            findings.push(Finding {
                what: format!(
                    "certificate `{}` ({}, status {}) has no {}: TLS for its domains cannot use \
                     it. Restore it from a backup, or issue it again",
                    cert.cert_name,
                    cert.domains.join(", "),
                    cert.status,
                    missing.join(" and no ")
                ),
                fix: None,
            });
        }
    }
    bar.inc(1);
    bar.finish_and_clear();
    findings.extend(unseen_layouts(storage)?);
    Ok(findings)
}

fn corrupt_finding(corrupt: &CorruptRecord) -> Finding {
    Finding {
        what: format!(
            "{} {}: {} (left as it is: fix or delete it by hand)",
            paint("corrupt", BAD),
            corrupt.key,
            corrupt.reason
        ),
        fix: None,
    }
}

/// The excluded paths of the proxy `hostname` as stored (none if it holds no list).
fn stored_excluded_paths(storage: &Storage, hostname: &str) -> Result<Vec<String>, String> {
    let key = storage.keys().proxy(hostname);
    let raw: Option<String> = redis::cmd("GET")
        .arg(&key)
        .query(&mut *nodes::data(&storage.config().url)?)
        .map_err(|e| format!("reading {key}: {e}"))?;
    let record: serde_json::Value = raw
        .and_then(|raw| serde_json::from_str(&raw).ok())
        .unwrap_or_default();
    Ok(record["auth_excluded_paths"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|path| path.as_str().map(str::to_owned))
        .collect())
}

/// The expiry index as stored: certificate name to score.
fn expiry_scores(storage: &Storage) -> Result<std::collections::HashMap<String, i64>, String> {
    let pairs: Vec<(String, f64)> = redis::cmd("ZRANGE")
        .arg(storage.keys().cert_expiry())
        .arg(0)
        .arg(-1)
        .arg("WITHSCORES")
        .query(&mut *nodes::data(&storage.config().url)?)
        .map_err(|e| format!("reading the expiry index: {e}"))?;
    Ok(pairs
        .into_iter()
        .map(|(name, score)| (name, score as i64))
        .collect())
}

/// Records in the old layer's unprefixed layout while this storage has a prefix, on every
/// master: an old process still writing there after the move to a cluster's `{gw}:`
/// prefix, whose writes no process of this storage sees.
fn unseen_layouts(storage: &Storage) -> Result<Vec<Finding>, String> {
    let prefix = storage.keys().prefix();
    let mut findings = Vec::new();
    if prefix.is_empty() {
        return Ok(findings);
    }
    let mut unseen = Vec::new();
    for family in ["proxy:*", "route:*", "cert:*", "auth:config:*"] {
        for (master, keys) in nodes::scan(&storage.config().url, family)?
            .iter()
            .enumerate()
        {
            if unseen.len() <= master {
                unseen.resize(master + 1, 0);
            }
            unseen[master] += keys.len();
        }
    }
    for (index, unseen) in unseen.into_iter().enumerate() {
        if unseen > 0 {
            findings.push(Finding {
                what: format!(
                    "{} {unseen} records in the unprefixed layout on master {} are outside this \
                     storage's prefix `{prefix}`: no process of this storage sees them",
                    paint("unseen", WARN),
                    index + 1
                ),
                fix: None,
            });
        }
    }
    Ok(findings)
}
