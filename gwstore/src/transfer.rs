//! `gwstore export` and `gwstore import`: the configuration as JSON lines.
//!
//! The first line names the format and its version; each other line is one record:
//! `{"family": "...", "id": "...", "record": {...}}`, families in a fixed order and records
//! by id, so the same store always exports the same text, and an export imported into an
//! empty Redis exports again to the same text. Secret material (certificate PEMs, a proxy's
//! GitHub client secret) is written as `null` unless `--include-secrets`, and the header's
//! `"secrets"` says which. Client secrets are exported as the hashes the store keeps. An
//! import never writes an active certificate without its key and chain (an export without
//! secrets has none): it names each one and leaves it. For a backup that restores exactly,
//! secrets and all, see `backup`.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use storage::blocking::Storage;
use storage::oauth::OAuthClient;
use storage::{AuthConfig, Certificate, MigrationPhase, ProxyTarget, Route};

use crate::files::{read_records, write_private, EXPORT};
use crate::terminal::{paint, plural, progress, BAD, GOOD, WARN};
use crate::Outcome;

/// Secret material, written as `null` without `--include-secrets`.
const SECRET_FIELDS: [&str; 3] = ["fullchain_pem", "private_key_pem", "github_client_secret"];

#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// Where to write (created with mode 0600); standard output if not given.
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Include secret material: certificate PEMs and proxies' GitHub client secrets. Never
    /// printed on a terminal: pass --output, or pipe it.
    #[arg(long)]
    include_secrets: bool,
}

#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// The export to read; `-` for standard input.
    input: PathBuf,
    /// Write the plan's new records (each one atomically). Without it, only the plan shows.
    #[arg(long)]
    apply: bool,
    /// With --apply, also replace records that differ from the file's.
    #[arg(long)]
    overwrite: bool,
}

/// One record of the file, typed.
enum Entry {
    Proxy(Box<ProxyTarget>),
    Route(Route),
    Certificate(Certificate),
    AuthConfig(AuthConfig),
    Client(OAuthClient),
}

impl Entry {
    fn family(&self) -> &'static str {
        match self {
            Entry::Proxy(_) => "proxy",
            Entry::Route(_) => "route",
            Entry::Certificate(_) => "certificate",
            Entry::AuthConfig(_) => "auth_config",
            Entry::Client(_) => "client",
        }
    }

    fn id(&self) -> &str {
        match self {
            Entry::Proxy(p) => &p.proxy_hostname,
            Entry::Route(r) => &r.route_id,
            Entry::Certificate(c) => &c.cert_name,
            Entry::AuthConfig(a) => &a.id,
            Entry::Client(c) => &c.client_id,
        }
    }

    fn record(&self) -> Value {
        let value = match self {
            Entry::Proxy(p) => serde_json::to_value(p),
            Entry::Route(r) => serde_json::to_value(r),
            Entry::Certificate(c) => serde_json::to_value(c),
            Entry::AuthConfig(a) => serde_json::to_value(a),
            Entry::Client(c) => serde_json::to_value(c),
        };
        value.unwrap_or_default()
    }

    /// The line for this record, its secret material left out (as `null`) unless
    /// `secrets`; the header says which.
    fn line(&self, secrets: bool) -> String {
        let mut record = self.record();
        if !secrets {
            for field in SECRET_FIELDS {
                if record.get(field).is_some() {
                    record[field] = Value::Null;
                }
            }
        }
        json!({ "family": self.family(), "id": self.id(), "record": record }).to_string()
    }

    fn parse(line: &Value) -> Result<Entry, String> {
        let family = line["family"].as_str().ok_or("no `family`")?;
        let id = line["id"].as_str().ok_or("no `id`")?;
        let record = line["record"].clone();
        let bad = |e: serde_json::Error| format!("`record`: {e}");
        let invalid = |e: storage::Error| e.to_string();
        let entry = match family {
            "proxy" => {
                let mut proxy: ProxyTarget = serde_json::from_value(record).map_err(bad)?;
                proxy.normalize().map_err(invalid)?;
                Entry::Proxy(Box::new(proxy))
            }
            "route" => {
                let mut route: Route = serde_json::from_value(record).map_err(bad)?;
                route.normalize().map_err(invalid)?;
                Entry::Route(route)
            }
            "certificate" => {
                let mut cert: Certificate = serde_json::from_value(record).map_err(bad)?;
                cert.normalize().map_err(invalid)?;
                Entry::Certificate(cert)
            }
            "auth_config" => {
                let mut config: AuthConfig = serde_json::from_value(record).map_err(bad)?;
                config.id = id.to_owned();
                config.normalize().map_err(invalid)?;
                Entry::AuthConfig(config)
            }
            "client" => {
                let mut client: OAuthClient = serde_json::from_value(record).map_err(bad)?;
                client.normalize().map_err(invalid)?;
                Entry::Client(client)
            }
            other => return Err(format!("unknown family `{other}`")),
        };
        if entry.id() != id {
            return Err(format!(
                "`id` {id} does not name the record ({})",
                entry.id()
            ));
        }
        Ok(entry)
    }

    /// What the store holds under this record's id, as this tool would export it.
    fn stored(&self, storage: &Storage) -> Result<Option<Value>, String> {
        let found = match self {
            Entry::Proxy(p) => storage
                .get_proxy_target(&p.proxy_hostname)
                .map(|r| r.map(|p| Entry::Proxy(Box::new(p)))),
            Entry::Route(r) => storage.get_route(&r.route_id).map(|r| r.map(Entry::Route)),
            Entry::Certificate(c) => storage
                .get_certificate(&c.cert_name)
                .map(|r| r.map(Entry::Certificate)),
            Entry::AuthConfig(a) => storage
                .get_auth_config(&a.id)
                .map(|r| r.map(Entry::AuthConfig)),
            Entry::Client(c) => storage
                .get_client(&c.client_id)
                .map(|r| r.map(Entry::Client)),
        };
        Ok(found.map_err(crate::explain)?.map(|entry| entry.record()))
    }

    /// An active certificate without its key or chain, as an export without secrets holds
    /// every certificate.
    fn is_keyless_certificate(&self) -> bool {
        matches!(self, Entry::Certificate(c)
            if c.status == "active" && (c.private_key_pem.is_none() || c.fullchain_pem.is_none()))
    }

    fn write(self, storage: &Storage) -> storage::Result<()> {
        match self {
            Entry::Proxy(p) => storage.store_proxy_target(*p).map(drop),
            Entry::Route(r) => storage.store_route(r).map(drop),
            Entry::Certificate(c) => storage.store_certificate(c).map(drop),
            Entry::AuthConfig(a) => storage.store_auth_config(a).map(drop),
            Entry::Client(c) => storage.store_client(c).map(drop),
        }
    }
}

pub fn export(storage: &Storage, args: &ExportArgs) -> Result<Outcome, String> {
    if args.include_secrets && args.output.is_none() && std::io::stdout().is_terminal() {
        return Err(
            "refusing to print secrets on a terminal: pass --output FILE, or pipe the export"
                .to_owned(),
        );
    }
    let error = crate::explain;
    let bar = progress(5);
    let mut entries = Vec::new();
    let mut corrupt = Vec::new();
    bar.set_message("proxies");
    let listing = storage.list_proxy_targets().map_err(error)?;
    corrupt.extend(listing.corrupt);
    entries.extend(
        listing
            .records
            .into_iter()
            .map(|p| Entry::Proxy(Box::new(p))),
    );
    bar.inc(1);
    bar.set_message("routes");
    let listing = storage.list_all_routes().map_err(error)?;
    corrupt.extend(listing.corrupt);
    let mut routes: Vec<Route> = listing.records;
    routes.sort_by(|a, b| a.route_id.cmp(&b.route_id));
    entries.extend(routes.into_iter().map(Entry::Route));
    bar.inc(1);
    bar.set_message("certificates");
    let listing = storage.list_certificates().map_err(error)?;
    corrupt.extend(listing.corrupt);
    entries.extend(listing.records.into_iter().map(Entry::Certificate));
    bar.inc(1);
    bar.set_message("auth configs");
    let listing = storage.list_auth_configs().map_err(error)?;
    corrupt.extend(listing.corrupt);
    let mut configs = listing.records;
    configs.sort_by(|a, b| a.id.cmp(&b.id));
    entries.extend(configs.into_iter().map(Entry::AuthConfig));
    bar.inc(1);
    bar.set_message("clients");
    let listing = storage.list_clients().map_err(error)?;
    corrupt.extend(listing.corrupt);
    entries.extend(listing.records.into_iter().map(Entry::Client));
    bar.finish_and_clear();

    let mut text = json!({ "format": EXPORT.name, "version": EXPORT.version, "secrets": args.include_secrets })
        .to_string();
    text.push('\n');
    for entry in &entries {
        text.push_str(&entry.line(args.include_secrets));
        text.push('\n');
    }
    match &args.output {
        Some(path) => write_private(path, &text)?,
        None => std::io::stdout()
            .write_all(text.as_bytes())
            .map_err(|e| e.to_string())?,
    }
    eprintln!("exported {}", plural(entries.len(), "record", "records"));
    // Once finished, listings read the indexes alone: what an old-layer process wrote since
    // is not in them, so not in this export.
    let status = storage.migration_status().map_err(error)?;
    let unseen = match status.phase {
        MigrationPhase::Finished => status.unindexed_keys,
        MigrationPhase::Mixed => Vec::new(),
    };
    if corrupt.is_empty() && unseen.is_empty() {
        return Ok(Outcome::Clean);
    }
    if !corrupt.is_empty() {
        eprintln!(
            "{} left out:",
            plural(corrupt.len(), "corrupt record", "corrupt records")
        );
        for record in &corrupt {
            eprintln!("  {}: {}", record.key, record.reason);
        }
    }
    if !unseen.is_empty() {
        eprintln!(
            "{} left out, missing from their index sets since the migration finished (an \
             old-layer process still writes; `gwstore doctor --fix` indexes them, `gwstore \
             backup` includes them):",
            plural(unseen.len(), "record", "records")
        );
        for key in &unseen {
            eprintln!("  {key}");
        }
    }
    Ok(Outcome::Findings)
}

pub fn import(storage: &Storage, args: &ImportArgs) -> Result<Outcome, String> {
    let entries = read(&args.input)?;
    let mut plan = Vec::new();
    for entry in entries {
        let action = match entry.stored(storage)? {
            _ if entry.is_keyless_certificate() => Action::Keyless,
            None => Action::Create,
            Some(stored) if stored == entry.record() => Action::Unchanged,
            Some(_) => Action::Conflict,
        };
        plan.push((entry, action));
    }
    let count = |wanted: Action| plan.iter().filter(|(_, a)| *a == wanted).count();
    let (creates, unchanged, conflicts, keyless) = (
        count(Action::Create),
        count(Action::Unchanged),
        count(Action::Conflict),
        count(Action::Keyless),
    );
    for (entry, action) in &plan {
        let shown = match action {
            Action::Create => paint("create", GOOD),
            Action::Unchanged => "same  ".to_owned(),
            Action::Conflict => paint("differs", WARN),
            Action::Keyless => paint("no key", BAD),
        };
        println!("{shown} {} {}", entry.family(), entry.id());
    }
    if keyless > 0 {
        println!(
            "{} left alone: active in the file but without its private key or chain (an \
             export without secrets); written, it would serve no TLS. Restore it from a \
             `gwstore backup`, or export with --include-secrets",
            plural(keyless, "certificate is", "certificates are")
        );
    }
    println!(
        "plan: {creates} to create, {unchanged} unchanged, {conflicts} that differ from the store{}",
        if args.overwrite { " (to overwrite)" } else { " (kept)" }
    );
    if !args.apply {
        println!("nothing written; run again with --apply to write");
        return Ok(if conflicts > 0 || keyless > 0 {
            Outcome::Findings
        } else {
            Outcome::Clean
        });
    }
    let mut written = 0;
    let mut failures = Vec::new();
    for (entry, action) in plan {
        let write = action == Action::Create || (action == Action::Conflict && args.overwrite);
        if !write {
            continue;
        }
        let name = format!("{} {}", entry.family(), entry.id());
        match entry.write(storage) {
            Ok(()) => written += 1,
            Err(error) => failures.push(format!("{name}: {error}")),
        }
    }
    println!("wrote {written} records");
    for failure in &failures {
        println!("{} {failure}", paint("failed", BAD));
    }
    let kept = if args.overwrite { 0 } else { conflicts };
    if kept > 0 {
        println!("{kept} records that differ were kept; pass --overwrite to replace them");
    }
    Ok(if failures.is_empty() && kept == 0 && keyless == 0 {
        Outcome::Clean
    } else {
        Outcome::Findings
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    Create,
    Unchanged,
    Conflict,
    /// An active certificate without its key or chain: never written.
    Keyless,
}

/// Every line of `input`, parsed and validated: one bad line and nothing is written.
fn read(input: &Path) -> Result<Vec<Entry>, String> {
    let read = read_records(input, &[&EXPORT], |_, line| {
        serde_json::from_str::<Value>(line)
            .map_err(|e| e.to_string())
            .and_then(|value| Entry::parse(&value))
    })
    .map_err(|e| format!("nothing imported: {e}"))?;
    Ok(read.records)
}
