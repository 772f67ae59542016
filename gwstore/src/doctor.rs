//! `gwstore doctor`: everything that is wrong with the store, and the safe repairs.
//!
//! The checks only read (through a storage that never seeds). `--fix` applies only repairs
//! that cannot lose anything: re-index (adds index entries), re-seed (creates missing
//! defaults and adds the excluded paths `localhost` needs), drop index entries whose record
//! is gone. It never deletes or rewrites a record of anyone's.

use std::time::Duration;

use storage::blocking::Storage;
use storage::{CorruptRecord, DEFAULT_PROXIES, DEFAULT_ROUTES};

use crate::nodes;
use crate::terminal::{paint, progress, BAD, GOOD, WARN};
use crate::{looking, seeding, Cli, Outcome};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Apply the safe repairs (re-index, re-seed, drop dangling index entries), then check
    /// again.
    #[arg(long)]
    fix: bool,
    /// Report certificates that expire within this many days.
    #[arg(long, default_value_t = 30)]
    days: u64,
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
        return Ok(report(&findings));
    }
    report(&findings);
    println!("\nrepairing: re-index, re-seed, drop dangling index entries");
    let fixer = seeding(cli)?;
    fixer.initialize().map_err(|e| e.to_string())?;
    fixer.reindex().map_err(|e| e.to_string())?;
    let dropped = fixer
        .drop_dangling_index_entries()
        .map_err(|e| e.to_string())?;
    println!("dropped {} dangling index entries\n", dropped.total());
    Ok(report(&check(&storage, args)?))
}

fn report(findings: &[Finding]) -> Outcome {
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
    println!("{} finding(s)", findings.len());
    Outcome::Findings
}

fn check(storage: &Storage, args: &Args) -> Result<Vec<Finding>, String> {
    let error = |e: storage::Error| e.to_string();
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
    let counts = status
        .unindexed
        .by_family()
        .zip(status.dangling.by_family());
    for ((family, unindexed), (_, dangling)) in counts {
        if unindexed > 0 {
            findings.push(Finding {
                what: format!("{unindexed} {family} missing from their index set"),
                fix: Some("re-index"),
            });
        }
        if dangling > 0 {
            findings.push(Finding {
                what: format!("{dangling} {family} index entries name no record"),
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
                    indexed.map_or("nothing".into(), |s| s.to_string()),
                    cert.cert_name,
                    own.map_or("no expiry".into(), |s| s.to_string()),
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
        let due = std::time::SystemTime::from(expires.instant()) <= until;
        if due {
            findings.push(Finding {
                what: format!(
                    "certificate `{}` ({}) {} {expires} (due within {} days)",
                    cert.cert_name,
                    cert.domains.join(", "),
                    if std::time::SystemTime::from(expires.instant())
                        <= std::time::SystemTime::now()
                    {
                        "expired"
                    } else {
                        "expires"
                    },
                    args.days
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
    for (index, mut master) in nodes::masters(&storage.config().url)?
        .into_iter()
        .enumerate()
    {
        let mut unseen = 0usize;
        for family in ["proxy:*", "route:*", "cert:*", "auth:config:*"] {
            let found: Vec<String> = redis::cmd("SCAN")
                .cursor_arg(0)
                .arg("MATCH")
                .arg(family)
                .arg("COUNT")
                .arg(1000)
                .clone()
                .iter(&mut master)
                .map_err(|e| format!("SCAN: {e}"))?
                .filter_map(Result::ok)
                .collect();
            unseen += found.len();
        }
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
