//! `gwstore backup` and `gwstore restore`: the whole store, secrets included, as JSON lines
//! that restore exactly.
//!
//! Unlike `export`, a backup keeps each record as Redis holds it (see
//! `storage::StoredRecord`): restored into an empty Redis, every record is the same text,
//! field for field, and a second backup is byte-identical. The first line names the format;
//! each other line is `{"family": "...", "id": "...", "value": "<the stored text>"}`, in a
//! fixed order. OAuth codes, tokens and grants are left out (short-lived credentials nobody
//! should get back); everything else this crate stores is in it.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use serde_json::json;
use storage::blocking::Storage;
use storage::{Restored, StoredFamily, StoredRecord};

use crate::files::{read_records, write_private, BACKUP};
use crate::records::json_reason;
use crate::terminal::{paint, plural, progress, spinner, BAD, GOOD, WARN};
use crate::{explain, Outcome};

/// What the header says is left out.
const LEFT_OUT: &str = "OAuth codes, tokens and grants";

#[derive(clap::Args, Debug)]
pub struct BackupArgs {
    /// The file to write (mode 0600, replaced only once complete). Standard output if not
    /// given, but never a terminal: the backup holds private keys.
    #[arg(long, short)]
    output: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct RestoreArgs {
    /// The backup to read; `-` for standard input.
    input: PathBuf,
    /// Write into a store that already holds records: the plan's new records, and with
    /// --overwrite those that differ. Into an empty store a restore writes without it.
    #[arg(long)]
    apply: bool,
    /// With --apply, also replace records that differ from the backup's.
    #[arg(long)]
    overwrite: bool,
}

pub fn backup(storage: &Storage, args: &BackupArgs) -> Result<Outcome, String> {
    if args.output.is_none() && std::io::stdout().is_terminal() {
        return Err(
            "refusing to print a backup on a terminal: it holds private keys. Pass --output \
             FILE, or pipe it"
                .to_owned(),
        );
    }
    let bar = spinner("reading every record");
    let backup = storage.backup().map_err(explain)?;
    bar.finish_and_clear();
    let mut text =
        json!({ "format": BACKUP.name, "version": BACKUP.version, "left_out": LEFT_OUT })
            .to_string();
    text.push('\n');
    for record in &backup.records {
        text.push_str(&serde_json::to_string(record).map_err(|e| e.to_string())?);
        text.push('\n');
    }
    match &args.output {
        Some(path) => write_private(path, &text)?,
        None => std::io::stdout()
            .write_all(text.as_bytes())
            .map_err(|e| e.to_string())?,
    }
    eprintln!(
        "backed up {} ({LEFT_OUT} left out)",
        counts(&backup.records)
    );
    if backup.corrupt.is_empty() {
        return Ok(Outcome::Clean);
    }
    eprintln!(
        "{} {} that could not be read, not in the backup:",
        paint("left out", BAD),
        plural(backup.corrupt.len(), "record", "records")
    );
    for record in &backup.corrupt {
        eprintln!("  {}: {}", record.key, record.reason);
    }
    Ok(Outcome::Findings)
}

pub fn restore(storage: &Storage, args: &RestoreArgs) -> Result<Outcome, String> {
    let records = read(storage, &args.input)?;
    let bar = spinner("reading the store");
    let present = storage.backup().map_err(explain)?;
    bar.finish_and_clear();
    let stored: BTreeMap<(StoredFamily, &str), &str> = present
        .records
        .iter()
        .map(|r| ((r.family, r.id.as_str()), r.value.as_str()))
        .collect();
    let empty = stored.is_empty() && present.corrupt.is_empty();
    let mut plan = Vec::new();
    for record in &records {
        let action = match stored.get(&(record.family, record.id.as_str())) {
            None => Action::Create,
            Some(value) if *value == record.value => Action::Unchanged,
            Some(_) => Action::Differs,
        };
        plan.push((record, action));
    }
    let count = |wanted: Action| plan.iter().filter(|(_, a)| *a == wanted).count();
    let (creates, unchanged, differs) = (
        count(Action::Create),
        count(Action::Unchanged),
        count(Action::Differs),
    );
    if !empty {
        for (record, action) in &plan {
            let shown = match action {
                Action::Create => paint("create ", GOOD),
                Action::Unchanged => "same   ".to_owned(),
                Action::Differs => paint("differs", WARN),
            };
            println!("{shown} {} {}", record.family, record.id);
        }
        println!(
            "plan: {creates} to create, {unchanged} unchanged, {differs} that differ from the \
             store{}",
            if args.overwrite {
                " (to overwrite)"
            } else {
                " (kept)"
            }
        );
        if !args.apply {
            println!("the store is not empty: nothing written; run again with --apply to write");
            return Ok(if differs > 0 {
                Outcome::Findings
            } else {
                Outcome::Clean
            });
        }
    }
    let writes: Vec<&StoredRecord> = plan
        .iter()
        .filter(|(_, action)| {
            *action == Action::Create || (*action == Action::Differs && args.overwrite)
        })
        .map(|(record, _)| *record)
        .collect();
    let bar = progress(writes.len() as u64);
    let (mut written, mut completed, mut expired) = (0, Vec::new(), Vec::new());
    let mut failures = Vec::new();
    for record in writes {
        bar.set_message(format!("{} {}", record.family, record.id));
        match storage.restore(record) {
            Ok(Restored::Expired) => expired.push(record),
            Ok(Restored::Completed) => {
                written += 1;
                completed.push(record);
            }
            Ok(_) => written += 1,
            Err(error) => failures.push(format!(
                "{} {}: {}",
                record.family,
                record.id,
                explain(error)
            )),
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    println!("restored {written} of {} records", records.len());
    for record in completed {
        println!(
            "{} {} {}: written with the excluded paths OAuth needs added",
            paint("completed", WARN),
            record.family,
            record.id
        );
    }
    for record in expired {
        println!(
            "expired {} {}: past its expiry, not written",
            record.family, record.id
        );
    }
    for failure in &failures {
        println!("{} {failure}", paint("failed", BAD));
    }
    let kept = if args.overwrite { 0 } else { differs };
    if kept > 0 {
        println!("{kept} records that differ were kept; pass --overwrite to replace them");
    }
    Ok(if failures.is_empty() && kept == 0 {
        Outcome::Clean
    } else {
        Outcome::Findings
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    Create,
    Unchanged,
    Differs,
}

/// `3 proxy, 12 route, …`: how many of each kind.
fn counts(records: &[StoredRecord]) -> String {
    let mut per_kind: BTreeMap<StoredFamily, usize> = BTreeMap::new();
    for record in records {
        *per_kind.entry(record.family).or_default() += 1;
    }
    let shown: Vec<String> = per_kind
        .iter()
        .map(|(family, n)| format!("{n} {family}"))
        .collect();
    format!("{} records: {}", records.len(), shown.join(", "))
}

/// Every line of `input`, parsed and checked: one bad line and nothing is written.
fn read(storage: &Storage, input: &Path) -> Result<Vec<StoredRecord>, String> {
    let read = read_records(input, &[&BACKUP], |_, line| {
        let record: StoredRecord = serde_json::from_str(line)
            .map_err(|e| format!("not a backup record ({})", json_reason(&e)))?;
        record.check(storage.keys()).map_err(|e| e.to_string())?;
        Ok(record)
    })
    .map_err(|e| format!("nothing restored: {e}"))?;
    Ok(read.records)
}
