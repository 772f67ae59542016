//! `gwstore history` and `gwstore diff --revision A..B`: the configuration's history, who
//! changed what and when, with a diff per field; secrets are named, never shown.

use std::time::{Duration, SystemTime};

use serde_json::{json, Value};
use storage::blocking::Storage;
use storage::{ChangeFamily, HistoryEntry, HistoryQuery, RecordDelta};

use crate::inspect::Family;
use crate::terminal::{paint, plural, BAD, GOOD, WARN};
use crate::{explain, Outcome};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Only this family's changes: proxies, routes, certs or auth-configs.
    family: Option<Family>,
    /// Only this record's (a hostname, route id, certificate name or auth config id).
    id: Option<String>,
    /// Only changes since then: a time (RFC 3339, `2026-12-07T10:00:00Z`) or an age
    /// (`90s`, `30m`, `2h`, `7d`).
    #[arg(long, value_name = "WHEN", value_parser = parse_since)]
    since: Option<SystemTime>,
    /// One JSON object per change, for scripts.
    #[arg(long)]
    json: bool,
}

pub fn run(storage: &Storage, args: &Args) -> Result<Outcome, String> {
    let mut query = HistoryQuery::all();
    match (args.family, &args.id) {
        (Some(family), Some(id)) => query = query.record(change_family(family)?, id.clone()),
        (Some(family), None) => query = query.family(change_family(family)?),
        (None, _) => {}
    }
    if let Some(since) = args.since {
        query = query.since(since);
    }
    let entries = storage.history(&query).map_err(explain)?;
    for entry in &entries {
        if args.json {
            println!("{}", entry_json(entry));
        } else {
            print_entry(entry);
        }
    }
    if !args.json {
        let (revision, oldest) = storage.history_bounds().map_err(explain)?;
        eprintln!(
            "{}; the store is at revision {revision}, the history reaches back to {oldest}",
            plural(entries.len(), "change", "changes")
        );
    }
    Ok(Outcome::Clean)
}

/// `gwstore diff --revision A..B`.
pub fn diff(storage: &Storage, range: &str) -> Result<Outcome, String> {
    let (from, until) = parse_range(range)?;
    let deltas = storage.diff_revisions(from, until).map_err(explain)?;
    for delta in &deltas {
        print_delta(delta);
    }
    if deltas.is_empty() {
        println!("nothing changed from revision {from} to {until}");
        Ok(Outcome::Clean)
    } else {
        println!(
            "{} from revision {from} to {until}",
            plural(deltas.len(), "record changed", "records changed")
        );
        Ok(Outcome::Findings)
    }
}

/// The history's name for a family this tool names; OAuth clients have no history.
pub fn change_family(family: Family) -> Result<ChangeFamily, String> {
    match family {
        Family::Proxies => Ok(ChangeFamily::Proxy),
        Family::Routes => Ok(ChangeFamily::Route),
        Family::Certs => Ok(ChangeFamily::Certificate),
        Family::AuthConfigs => Ok(ChangeFamily::AuthConfig),
        Family::Clients => Err("OAuth clients are not configuration: they have no history".into()),
    }
}

fn print_entry(entry: &HistoryEntry) {
    let at = entry.at.map(rfc3339).unwrap_or_else(|| "-".to_owned());
    println!(
        "{:>8}  {at}  {}  by {}",
        entry.revision,
        headline(&entry.change),
        entry.actor
    );
    for line in field_lines(&entry.change) {
        println!("            {line}");
    }
}

/// A record's delta: its headline and a line per field.
pub fn print_delta(delta: &RecordDelta) {
    println!("{}", headline(delta));
    for line in field_lines(delta) {
        println!("    {line}");
    }
}

/// `+ create proxy api.example.com`, coloured by what happens.
fn headline(delta: &RecordDelta) -> String {
    let action = delta.action();
    let (mark, colour) = match action {
        storage::Action::Create => ("+", GOOD),
        storage::Action::Update => ("~", WARN),
        storage::Action::Delete => ("-", BAD),
    };
    format!(
        "{} {action} {} {}",
        paint(mark, colour),
        delta.family,
        delta.id
    )
}

/// `field: before → after` per field that differs (`-` where absent); a secret's change is
/// named, not shown.
fn field_lines(delta: &RecordDelta) -> Vec<String> {
    delta
        .fields()
        .iter()
        .map(|field| {
            if field.is_secret() {
                format!("{}: changed (a secret: not shown)", field.field)
            } else {
                format!(
                    "{}: {} → {}",
                    field.field,
                    shown(field.before.as_ref()),
                    shown(field.after.as_ref())
                )
            }
        })
        .collect()
}

fn shown(value: Option<&Value>) -> String {
    value.map_or_else(|| "-".to_owned(), Value::to_string)
}

fn entry_json(entry: &HistoryEntry) -> Value {
    let fields: Vec<Value> = entry
        .change
        .fields()
        .iter()
        .map(|field| {
            if field.is_secret() {
                json!({ "field": field.field, "secret": true })
            } else {
                json!({ "field": field.field, "before": field.before, "after": field.after })
            }
        })
        .collect();
    json!({
        "revision": entry.revision,
        "epoch": entry.epoch,
        "at": entry.at.map(rfc3339),
        "actor": entry.actor.to_string(),
        "family": entry.change.family.to_string(),
        "id": entry.change.id,
        "action": entry.change.action().to_string(),
        "fields": fields,
    })
}

fn rfc3339(at: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(at).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// `A..B` as two revisions.
fn parse_range(range: &str) -> Result<(u64, u64), String> {
    let bad = || format!("--revision takes A..B (two revisions), not `{range}`");
    let (from, until) = range.split_once("..").ok_or_else(bad)?;
    let from = from.trim().parse().map_err(|_| bad())?;
    let until = until.trim().parse().map_err(|_| bad())?;
    Ok((from, until))
}

/// An RFC 3339 time, or an age before now (`90s`, `30m`, `2h`, `7d`).
fn parse_since(text: &str) -> Result<SystemTime, String> {
    if let Ok(at) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&chrono::Utc).into());
    }
    let bad = || format!("`{text}` is neither an RFC 3339 time nor an age such as 30m, 2h or 7d");
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (amount, unit) = text.split_at(split);
    let amount: u64 = amount.parse().map_err(|_| bad())?;
    let unit_seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    let seconds = amount.checked_mul(unit_seconds).ok_or_else(bad)?;
    SystemTime::now()
        .checked_sub(Duration::from_secs(seconds))
        .ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_ages_parse_and_nonsense_is_refused() {
        assert_eq!(parse_range("3..17"), Ok((3, 17)));
        assert!(parse_range("3-17").is_err());
        assert!(parse_range("a..b").is_err());
        let hour_ago = parse_since("1h").unwrap();
        let age = SystemTime::now().duration_since(hour_ago).unwrap();
        assert!(age >= Duration::from_secs(3600) && age < Duration::from_secs(3700));
        assert!(parse_since("2026-12-07T10:00:00Z").is_ok());
        assert!(parse_since("yesterday").is_err());
        assert!(parse_since("5w").is_err());
    }
}
