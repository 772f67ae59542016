//! `gwstore inspect`: one family of records, as a table or as JSON, secrets never shown.

use clap::ValueEnum;
use serde_json::{json, Value};
use storage::blocking::Storage;
use storage::{CorruptRecord, Listing, Secret, TargetValue};

use crate::terminal::{paint, table, BAD};
use crate::Outcome;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The family to list.
    family: Family,
    /// One JSON document for scripts, instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Family {
    Proxies,
    Routes,
    Certs,
    AuthConfigs,
    Clients,
}

pub fn run(storage: &Storage, args: &Args) -> Result<Outcome, String> {
    let error = crate::explain;
    type Shown = (
        &'static [&'static str],
        Vec<Vec<String>>,
        Vec<Value>,
        Vec<CorruptRecord>,
    );
    let (header, rows, records, corrupt): Shown = match args.family {
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
