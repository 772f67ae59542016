//! `gwstore get|set|delete`: one record, read, written or removed through the storage
//! library, so a write is validated as the gateway's own writes are, goes through the same
//! scripts (indexes and change feed included), and a running gateway sees it.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;

use serde_json::Value;
use storage::blocking::Storage;
use storage::oauth::OAuthClient;
use storage::{AuthConfig, Certificate, ProxyTarget, Route};

use crate::inspect::Family;
use crate::terminal::{confirmed, table};
use crate::{explain, Outcome};

#[derive(clap::Args, Debug)]
pub struct GetArgs {
    /// The record's family.
    family: Family,
    /// Its id: a hostname, route id, certificate name, auth config id or client id.
    id: String,
    /// As JSON, for scripts, instead of a table. Secrets show as their size or `hashed`.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Debug)]
pub struct SetArgs {
    /// The record's family.
    family: Family,
    /// A file holding the record as JSON; `-` or nothing for standard input.
    file: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct DeleteArgs {
    /// The record's family.
    family: Family,
    /// Its id.
    id: String,
    /// Delete without asking. Without a terminal to ask on, it is required.
    #[arg(long)]
    yes: bool,
}

pub fn get(storage: &Storage, args: &GetArgs) -> Result<Outcome, String> {
    let id = args.id.as_str();
    let record = match args.family {
        Family::Proxies => as_json(storage.get_proxy_target(id)),
        Family::Routes => as_json(storage.get_route(id)),
        Family::Certs => as_json(storage.get_certificate(id)),
        Family::AuthConfigs => as_json(storage.get_auth_config(id)),
        Family::Clients => as_json(storage.get_client(id)),
    }?;
    let Some(record) = record else {
        eprintln!("no {} `{id}`", name(args.family));
        return Ok(Outcome::Findings);
    };
    let shown = args.family.shown(record);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&shown).map_err(|e| e.to_string())?
        );
        return Ok(Outcome::Clean);
    }
    let rows: Vec<Vec<String>> = shown
        .as_object()
        .into_iter()
        .flatten()
        .map(|(field, value)| {
            let value = match value {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            vec![field.clone(), value]
        })
        .collect();
    println!("{}", table(&["FIELD", "VALUE"], &rows));
    Ok(Outcome::Clean)
}

pub fn set(storage: &Storage, args: &SetArgs) -> Result<Outcome, String> {
    let text = read_input(args.file.as_ref())?;
    let invalid = |e: serde_path_to_error::Error<serde_json::Error>| {
        let field = e.path().to_string();
        let reason = json_reason(e.inner());
        match field.as_str() {
            "." | "" => format!("not a {} record: {reason}", name(args.family)),
            _ => format!("not a {} record: `{field}`: {reason}", name(args.family)),
        }
    };
    let stored = match args.family {
        Family::Proxies => {
            let proxy: ProxyTarget = parse(&text).map_err(invalid)?;
            storage.store_proxy_target(proxy).map(|p| p.proxy_hostname)
        }
        Family::Routes => {
            let route: Route = parse(&text).map_err(invalid)?;
            storage.store_route(route).map(|r| r.route_id)
        }
        Family::Certs => {
            let cert: Certificate = parse(&text).map_err(invalid)?;
            storage.store_certificate(cert).map(|c| c.cert_name)
        }
        Family::AuthConfigs => {
            let config: AuthConfig = parse(&text).map_err(invalid)?;
            storage.store_auth_config(config).map(|c| c.id)
        }
        Family::Clients => {
            let client: OAuthClient = parse(&text).map_err(invalid)?;
            storage.store_client(client).map(|c| c.client_id)
        }
    }
    .map_err(explain)?;
    println!("stored {} `{stored}`", name(args.family));
    Ok(Outcome::Clean)
}

pub fn delete(storage: &Storage, args: &DeleteArgs) -> Result<Outcome, String> {
    let id = args.id.as_str();
    if !args.yes && !confirmed(&format!("delete {} `{id}`", name(args.family)), id)? {
        return Ok(Outcome::Failed);
    }
    let deleted = match args.family {
        Family::Proxies => storage.delete_proxy_target(id),
        Family::Routes => storage.delete_route(id),
        Family::Certs => storage.delete_certificate(id),
        Family::AuthConfigs => storage.delete_auth_config(id),
        Family::Clients => storage.delete_client(id),
    }
    .map_err(explain)?;
    if deleted {
        println!("deleted {} `{id}`", name(args.family));
        Ok(Outcome::Clean)
    } else {
        eprintln!("no {} `{id}`: nothing deleted", name(args.family));
        Ok(Outcome::Findings)
    }
}

/// `text` as a record, with the path of the field that failed in the error.
fn parse<T: serde::de::DeserializeOwned>(
    text: &str,
) -> Result<T, serde_path_to_error::Error<serde_json::Error>> {
    serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_str(text))
}

/// One record of the family, as JSON.
fn as_json<T: serde::Serialize>(
    found: storage::Result<Option<T>>,
) -> Result<Option<Value>, String> {
    found
        .map_err(explain)?
        .map(|record| serde_json::to_value(record).map_err(|e| e.to_string()))
        .transpose()
}

/// What one record of `family` is called.
fn name(family: Family) -> &'static str {
    match family {
        Family::Proxies => "proxy",
        Family::Routes => "route",
        Family::Certs => "certificate",
        Family::AuthConfigs => "auth config",
        Family::Clients => "client",
    }
}

fn read_input(file: Option<&PathBuf>) -> Result<String, String> {
    let mut text = String::new();
    match file.filter(|path| path.as_os_str() != "-") {
        Some(path) => {
            text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        }
        None => {
            if std::io::stdin().is_terminal() {
                eprintln!("reading the record from standard input; end it with ctrl-d");
            }
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| format!("cannot read standard input: {e}"))?;
        }
    }
    Ok(text)
}

/// serde's reason for text that is not a record, with the values it quotes (`"…"`) left
/// out: a record may hold a secret. Field names, in backticks, stay.
pub fn json_reason(error: &serde_json::Error) -> String {
    let mut reason = String::new();
    let mut quoted = false;
    for c in error.to_string().chars() {
        if c == '"' {
            quoted = !quoted;
            if quoted {
                reason.push_str("\"…\"");
            }
        } else if !quoted {
            reason.push(c);
        }
    }
    reason
}
