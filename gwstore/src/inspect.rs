//! `gwstore inspect`: one family of records, the ACME state, the locks or the store's meta,
//! as a table or as JSON, secrets never shown.

use clap::ValueEnum;
use serde_json::{json, Value};
use storage::blocking::Storage;
use storage::{CorruptRecord, Listing, Secret, TargetValue};

use crate::nodes;
use crate::terminal::{paint, table, BAD};
use crate::Outcome;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// What to list.
    what: Inspected,
    /// One JSON document for scripts, instead of a table.
    #[arg(long)]
    json: bool,
}

/// What `inspect` lists: a family of records, or the state around them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Inspected {
    Proxies,
    Routes,
    Certs,
    AuthConfigs,
    Clients,
    /// Pending ACME HTTP-01 challenges, with the time they have left.
    Challenges,
    /// ACME account keys, by provider and email (the keys' sizes only).
    Accounts,
    /// Held locks: who holds each, and for how long still.
    Locks,
    /// The store's revision, migration phase, change feed and history lengths.
    Meta,
}

/// A family of records, by the names an operator types (plural or singular).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Family {
    #[value(alias = "proxy")]
    Proxies,
    #[value(alias = "route")]
    Routes,
    #[value(alias = "cert", alias = "certificate", alias = "certificates")]
    Certs,
    #[value(alias = "auth-config")]
    AuthConfigs,
    #[value(alias = "client")]
    Clients,
}

impl Family {
    /// `record` as this tool shows it: secrets as their size or `hashed`, never themselves.
    pub fn shown(self, record: Value) -> Value {
        match self {
            Family::Proxies => proxy_json(record),
            Family::Routes | Family::AuthConfigs => plain_json(record),
            Family::Certs => certificate_json(record),
            Family::Clients => client_json(record),
        }
    }
}

pub fn run(storage: &Storage, args: &Args) -> Result<Outcome, String> {
    let family = match args.what {
        Inspected::Proxies => Family::Proxies,
        Inspected::Routes => Family::Routes,
        Inspected::Certs => Family::Certs,
        Inspected::AuthConfigs => Family::AuthConfigs,
        Inspected::Clients => Family::Clients,
        state => return inspect_state(storage, state, args.json),
    };
    let error = crate::explain;
    type Shown = (
        &'static [&'static str],
        Vec<Vec<String>>,
        Vec<Value>,
        Vec<CorruptRecord>,
    );
    let (header, rows, records, corrupt): Shown = match family {
        Family::Proxies => {
            let listing = storage.list_proxy_targets().map_err(error)?;
            let rows = listing
                .records
                .iter()
                .map(|p| {
                    vec![
                        p.proxy_hostname.clone(),
                        p.target_url.clone(),
                        if p.auth_enabled { "on" } else { "off" }.to_owned(),
                        p.auth_excluded_paths.clone().unwrap_or_default().join(","),
                        p.cert_name.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            let header = &["HOSTNAME", "TARGET", "AUTH", "EXCLUDED", "CERT"][..];
            (header, rows, masked(&listing, proxy_json), listing.corrupt)
        }
        Family::Routes => {
            let listing = storage.list_all_routes().map_err(error)?;
            let rows = listing
                .records
                .iter()
                .map(|r| {
                    vec![
                        r.priority.to_string(),
                        r.route_id.clone(),
                        r.path_pattern.clone(),
                        match &r.target_value {
                            TargetValue::Port(port) => port.to_string(),
                            TargetValue::Text(text) => text.clone(),
                        },
                        if r.enabled { "yes" } else { "no" }.to_owned(),
                        if r.proxy_hostnames.is_empty() {
                            "global".to_owned()
                        } else {
                            r.proxy_hostnames.join(",")
                        },
                    ]
                })
                .collect();
            let header = &["PRIORITY", "ID", "PATH", "TARGET", "ENABLED", "SCOPE"][..];
            (header, rows, masked(&listing, plain_json), listing.corrupt)
        }
        Family::Certs => {
            let listing = storage.list_certificates().map_err(error)?;
            let rows = listing
                .records
                .iter()
                .map(|c| {
                    vec![
                        c.cert_name.clone(),
                        c.domains.join(","),
                        shown_status(c),
                        c.expires_at.as_ref().map_or("-".into(), |t| t.to_string()),
                        format!(
                            "chain {}, key {}",
                            pem_size(c.fullchain_pem.as_ref()),
                            pem_size(c.private_key_pem.as_ref())
                        ),
                    ]
                })
                .collect();
            let header = &["NAME", "DOMAINS", "STATUS", "EXPIRES", "PEM"][..];
            (
                header,
                rows,
                masked(&listing, certificate_json),
                listing.corrupt,
            )
        }
        Family::AuthConfigs => {
            let listing = storage.list_auth_configs().map_err(error)?;
            let rows = listing
                .records
                .iter()
                .map(|a| {
                    vec![
                        a.priority.to_string(),
                        a.id.clone(),
                        a.path_pattern.clone(),
                        if a.enabled { "yes" } else { "no" }.to_owned(),
                    ]
                })
                .collect();
            let header = &["PRIORITY", "ID", "PATTERN", "ENABLED"][..];
            let records = listing
                .records
                .iter()
                .map(|a| {
                    let mut value = json!({ "id": a.id });
                    merge(&mut value, serde_json::to_value(a).unwrap_or_default());
                    value
                })
                .collect();
            (header, rows, records, listing.corrupt)
        }
        Family::Clients => {
            let listing = storage.list_clients().map_err(error)?;
            let rows = listing
                .records
                .iter()
                .map(|c| {
                    vec![
                        c.client_id.clone(),
                        c.client_name.clone(),
                        c.redirect_uris.join(","),
                        secret_state(c.client_secret_hash.is_some()).to_owned(),
                    ]
                })
                .collect();
            let header = &["ID", "NAME", "REDIRECT URIS", "SECRET"][..];
            (header, rows, masked(&listing, client_json), listing.corrupt)
        }
    };
    if args.json {
        let corrupt: Vec<Value> = corrupt
            .iter()
            .map(|c| json!({ "key": c.key, "reason": c.reason }))
            .collect();
        let doc = json!({ "records": records, "corrupt": corrupt });
        println!(
            "{}",
            serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?
        );
    } else {
        println!("{}", table(header, &rows));
        print_corrupt(&corrupt);
    }
    Ok(if corrupt.is_empty() {
        Outcome::Clean
    } else {
        Outcome::Findings
    })
}

/// The state beside the records, read as stored: challenges, accounts, locks, meta.
fn inspect_state(storage: &Storage, what: Inspected, as_json: bool) -> Result<Outcome, String> {
    let keys = storage.keys();
    let url = &storage.config().url;
    let mut data = nodes::data(url)?;
    let mut read = |command: &mut redis::Cmd, key: &str| -> Result<redis::Value, String> {
        command
            .arg(key)
            .query::<redis::Value>(&mut *data)
            .map_err(|e| format!("reading {key}: {e}"))
    };
    let text = |value: redis::Value| -> Option<String> { redis::from_redis_value(value).ok() };
    let number = |value: redis::Value| -> i64 { redis::from_redis_value(value).unwrap_or(-2) };
    let found = |start: &str| -> Result<Vec<String>, String> {
        let mut all: Vec<String> = nodes::scan(url, &keys.pattern(start))?
            .into_iter()
            .flatten()
            .collect();
        all.sort();
        Ok(all)
    };
    let left = |ms: i64| match ms {
        -1 => "no expiry".to_owned(),
        ms if ms < 0 => "gone".to_owned(),
        ms => format!("{} s", ms / 1000),
    };
    let (header, rows): (&[&str], Vec<Vec<String>>) = match what {
        Inspected::Challenges => {
            let mut rows = Vec::new();
            for key in found("challenge:")? {
                let value = text(read(&mut redis::cmd("GET"), &key)?).unwrap_or_default();
                let ttl = number(read(&mut redis::cmd("PTTL"), &key)?);
                let record: Value = serde_json::from_str(&value).unwrap_or_default();
                let token = key
                    .rsplit_once("challenge:")
                    .map_or("", |(_, t)| t)
                    .to_owned();
                let authorization = record["authorization"].as_str().unwrap_or("?").to_owned();
                rows.push(vec![token, authorization, left(ttl)]);
            }
            (&["TOKEN", "AUTHORIZATION", "LEFT"], rows)
        }
        Inspected::Accounts => {
            let mut rows = Vec::new();
            for key in found("account:")? {
                let pem = text(read(&mut redis::cmd("GET"), &key)?).unwrap_or_default();
                let id = key.split_once("account:").map_or("", |(_, id)| id);
                let (provider, email) = id.split_once(':').unwrap_or((id, ""));
                rows.push(vec![
                    provider.to_owned(),
                    email.to_owned(),
                    format!("{} B", pem.len()),
                ]);
            }
            (&["PROVIDER", "EMAIL", "KEY"], rows)
        }
        Inspected::Locks => {
            let mut rows = Vec::new();
            // A lock's fence counter lives beside it; it is not a held lock.
            let fences = keys.fence("");
            for key in found("lock:")?
                .into_iter()
                .filter(|k| !k.starts_with(&fences))
            {
                let held = text(read(&mut redis::cmd("GET"), &key)?).unwrap_or_default();
                let ttl = number(read(&mut redis::cmd("PTTL"), &key)?);
                let name = key.split_once("lock:").map_or("", |(_, n)| n).to_owned();
                let (holder, token) = held.rsplit_once(':').unwrap_or((&held, ""));
                rows.push(vec![name, holder.to_owned(), token.to_owned(), left(ttl)]);
            }
            (&["LOCK", "HOLDER", "FENCE", "LEFT"], rows)
        }
        _ => {
            let revision =
                text(read(&mut redis::cmd("GET"), &keys.revision())?).unwrap_or_else(|| "0".into());
            let phase = text(read(&mut redis::cmd("GET"), &keys.migration_phase())?);
            let phase = phase.unwrap_or_else(|| "mixed".into());
            let feed = number(read(&mut redis::cmd("XLEN"), &keys.changes())?).max(0);
            let history = number(read(&mut redis::cmd("XLEN"), &keys.history())?).max(0);
            let rows = vec![
                vec!["revision".to_owned(), revision],
                vec!["migration phase".to_owned(), phase],
                vec!["change feed entries".to_owned(), feed.to_string()],
                vec!["history entries".to_owned(), history.to_string()],
                vec!["key prefix".to_owned(), format!("`{}`", keys.prefix())],
            ];
            (&["WHAT", "VALUE"], rows)
        }
    };
    if as_json {
        let records: Vec<Value> = rows
            .iter()
            .map(|row| {
                let fields = header
                    .iter()
                    .zip(row)
                    .map(|(name, cell)| (name.to_lowercase(), json!(cell)));
                Value::Object(fields.collect())
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "records": records }))
                .map_err(|e| e.to_string())?
        );
    } else {
        println!("{}", table(header, &rows));
    }
    Ok(Outcome::Clean)
}

/// Corrupt records, by key with the reason, after a table.
pub fn print_corrupt(corrupt: &[CorruptRecord]) {
    for record in corrupt {
        println!(
            "{} {}: {}",
            paint("corrupt", BAD),
            record.key,
            record.reason
        );
    }
}

fn masked<T: serde::Serialize>(listing: &Listing<T>, shape: fn(Value) -> Value) -> Vec<Value> {
    listing
        .records
        .iter()
        .map(|record| shape(serde_json::to_value(record).unwrap_or_default()))
        .collect()
}

fn plain_json(value: Value) -> Value {
    mask_hash(value, "owner_token_hash")
}

fn proxy_json(value: Value) -> Value {
    let mut value = mask_hash(value, "owner_token_hash");
    if !value["github_client_secret"].is_null() {
        value["github_client_secret"] = json!("set");
    }
    value
}

/// The stored status, unless the certificate has expired: a certificate past its expiry is
/// `expired` whatever its record still says.
fn shown_status(cert: &storage::Certificate) -> String {
    match &cert.expires_at {
        Some(at) if at.instant() <= chrono::Utc::now() => format!("expired ({})", cert.status),
        _ => cert.status.clone(),
    }
}

fn certificate_json(mut value: Value) -> Value {
    let expired = value["expires_at"]
        .as_str()
        .and_then(storage::Timestamp::parse)
        .is_some_and(|at| at.instant() <= chrono::Utc::now());
    value["expired"] = json!(expired);
    for field in ["fullchain_pem", "private_key_pem"] {
        let length = value[field].as_str().map(str::len);
        value[field] = match length {
            Some(bytes) => json!({ "bytes": bytes }),
            None => Value::Null,
        };
    }
    value
}

fn client_json(value: Value) -> Value {
    mask_hash(value, "client_secret_hash")
}

/// A stored hash shows as "hashed": even a hash is not printed.
fn mask_hash(mut value: Value, field: &str) -> Value {
    if !value[field].is_null() && value.get(field).is_some() {
        value[field] = json!(secret_state(true));
    }
    value
}

fn secret_state(present: bool) -> &'static str {
    if present {
        "hashed"
    } else {
        "none"
    }
}

fn pem_size(pem: Option<&Secret>) -> String {
    pem.map_or("none".into(), |p| format!("{} B", p.expose().len()))
}

fn merge(into: &mut Value, from: Value) {
    if let (Value::Object(into), Value::Object(from)) = (into, from) {
        into.extend(from);
    }
}
