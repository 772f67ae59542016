//! `gwstore diff`: what differs between the store and a backup or export, or between two
//! such files, per record and per field (between two revisions of the store, see
//! `history`). Secrets are compared, never shown.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;
use storage::blocking::Storage;
use storage::{StoredRecord, SECRET_FIELDS};

use crate::files::{read_records, BACKUP, EXPORT};
use crate::records::json_reason;
use crate::terminal::{paint, plural, BAD, GOOD, WARN};
use crate::{explain, Outcome};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A backup or an export. With one file, it is compared with the store.
    #[arg(required_unless_present = "revision")]
    first: Option<PathBuf>,
    /// A second backup or export, compared with the first instead of the store.
    second: Option<PathBuf>,
    /// Instead of files: what changed in the store between two revisions (`A..B`), from
    /// its history.
    #[arg(long, value_name = "A..B", conflicts_with_all = ["first", "second"])]
    revision: Option<String>,
}

impl Args {
    /// Whether two files are compared (no store needed).
    pub fn has_second(&self) -> bool {
        self.second.is_some()
    }

    /// The revisions to compare, when asked.
    pub fn revisions(&self) -> Option<&str> {
        self.revision.as_deref()
    }
}

/// Records by kind and id, as JSON; and whether the side holds secrets at all (an export
/// without them writes `null` in their place, which is no difference).
struct Side {
    name: String,
    records: BTreeMap<(String, String), Value>,
    secrets: bool,
}

pub fn run(storage: Option<&Storage>, args: &Args) -> Result<Outcome, String> {
    let first = read(
        args.first
            .as_deref()
            .ok_or("nothing to compare: give a file")?,
    )?;
    let second = match (&args.second, storage) {
        (Some(path), _) => read(path)?,
        (None, Some(storage)) => {
            let backup = storage.backup().map_err(explain)?;
            Side {
                name: "the store".to_owned(),
                records: backup.records.iter().map(entry).collect(),
                secrets: true,
            }
        }
        (None, None) => return Err("nothing to compare the file with".to_owned()),
    };
    let compare_secrets = first.secrets && second.secrets;
    let ids: BTreeSet<&(String, String)> =
        first.records.keys().chain(second.records.keys()).collect();
    let mut differences = 0;
    for id @ (family, name) in ids {
        match (first.records.get(id), second.records.get(id)) {
            (Some(_), None) => {
                differences += 1;
                println!(
                    "{} {family} {name}: only in {}",
                    paint("-", BAD),
                    first.name
                );
            }
            (None, Some(_)) => {
                differences += 1;
                println!(
                    "{} {family} {name}: only in {}",
                    paint("+", GOOD),
                    second.name
                );
            }
            (Some(a), Some(b)) => {
                let fields = changed_fields(a, b, compare_secrets);
                if !fields.is_empty() {
                    differences += 1;
                    println!("{} {family} {name}:", paint("~", WARN));
                    for field in fields {
                        println!("    {field}");
                    }
                }
            }
            (None, None) => {}
        }
    }
    if differences == 0 {
        println!("no differences between {} and {}", first.name, second.name);
        Ok(Outcome::Clean)
    } else {
        println!(
            "{} between {} and {}",
            plural(differences, "record differs", "records differ"),
            first.name,
            second.name
        );
        Ok(Outcome::Findings)
    }
}

/// `field: a → b` for each field that differs; a field absent on one side and `null` on
/// the other is no difference.
fn changed_fields(a: &Value, b: &Value, compare_secrets: bool) -> Vec<String> {
    let (Value::Object(a), Value::Object(b)) = (a, b) else {
        return if a == b {
            Vec::new()
        } else {
            vec!["the stored text differs (a secret: not shown)".to_owned()]
        };
    };
    let fields: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    let mut changed = Vec::new();
    for field in fields {
        let (left, right) = (
            a.get(field).unwrap_or(&Value::Null),
            b.get(field).unwrap_or(&Value::Null),
        );
        if left == right {
            continue;
        }
        if SECRET_FIELDS.contains(&field.as_str()) {
            if compare_secrets {
                changed.push(format!("{field}: differs (a secret: not shown)"));
            }
            continue;
        }
        changed.push(format!("{field}: {left} → {right}"));
    }
    changed
}

fn entry(record: &StoredRecord) -> ((String, String), Value) {
    let value =
        serde_json::from_str(&record.value).unwrap_or_else(|_| Value::String(record.value.clone()));
    ((record.family.to_string(), record.id.clone()), value)
}

/// A backup or an export, by kind and id.
fn read(path: &Path) -> Result<Side, String> {
    let read = read_records(path, &[&BACKUP, &EXPORT], |format, line| {
        let bad = |e: serde_json::Error| format!("not a record ({})", json_reason(&e));
        if format.name == BACKUP.name {
            let record: StoredRecord = serde_json::from_str(line).map_err(bad)?;
            return Ok(entry(&record));
        }
        let line: Value = serde_json::from_str(line).map_err(bad)?;
        let family = match line["family"].as_str().ok_or("no `family`")? {
            // An export calls OAuth clients `client`; a backup `oauth_client`.
            "client" => "oauth_client",
            other => other,
        };
        let id = line["id"].as_str().ok_or("no `id`")?;
        Ok(((family.to_owned(), id.to_owned()), line["record"].clone()))
    })?;
    Ok(Side {
        name: path.display().to_string(),
        secrets: read.format.name == BACKUP.name || read.header["secrets"] == Value::Bool(true),
        records: read.records.into_iter().collect(),
    })
}
