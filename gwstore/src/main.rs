//! `gwstore`: the operator's command line for the gateway's Redis.
//!
//! Built on the blocking storage API, so it reads records exactly as the gateway does:
//! corrupt records by key, legacy records the index sets lack, secrets never shown. Commands
//! that only look (`inspect`, `get`, `doctor`, `migrate status`, `backup`, `export`, `diff`,
//! `watch`, `history`) never write, not even the default records; the ones that write (`set`,
//! `delete`, `doctor --fix`, `migrate finish|rollback`, `restore`, `import --apply`, `rollback`) say
//! what before they do, and ask where a mistake would hurt.
//!
//! Exit codes: 0 healthy or done, 1 findings, differences or conflicts, 2 could not check,
//! refused, or invalid input (nothing written).

mod backup;
mod diff;
mod doctor;
mod files;
mod history;
mod inspect;
mod migrate;
mod nodes;
mod records;
mod rollback;
mod terminal;
mod transfer;
mod watch;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use storage::blocking::Storage;
use storage::StorageConfig;

const EXAMPLES: &str = "\
Examples:
  gwstore --url redis://127.0.0.1:6379 doctor
  gwstore doctor --fix                      # re-index, re-seed, drop dangling entries
  gwstore inspect routes
  gwstore inspect certs --json | jq '.records[].cert_name'
  gwstore migrate status
  gwstore migrate finish --yes
  gwstore migrate rollback --yes            # an old-layer process must run again
  gwstore get proxy api.example.com
  gwstore set route < route.json            # validated, indexed, in the change feed
  gwstore watch --json --count 1
  gwstore backup --output store.backup      # everything, secrets included, mode 0600
  gwstore restore store.backup              # into an empty Redis: writes it back exactly
  gwstore export --output config.jsonl      # configuration to read or edit, without PEMs
  gwstore import config.jsonl               # shows the plan
  gwstore import config.jsonl --apply       # writes new records; --overwrite replaces
  gwstore history proxies api.example.com --since 2h
  gwstore diff --revision 120..131          # what changed between two revisions
  gwstore rollback --to 120                 # shows the plan, then asks";

/// What exit code a command ends with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Healthy, or done.
    Clean = 0,
    /// Findings, differences, or conflicts left alone.
    Findings = 1,
    /// Could not check, refused to act, or invalid input.
    Failed = 2,
}

const ENVIRONMENT: &str = "\
Environment:
  REDIS_URL          the Redis to work on, when --url is not given
  GWSTORE_PASSWORD   the Redis password, kept out of the URL (else REDISCLI_AUTH, as redis-cli)
  NO_COLOR           no colour, whatever the terminal (TERM=dumb too)";

/// Inspect, check, migrate, back up and restore the gateway's Redis.
#[derive(Parser, Debug)]
#[command(name = "gwstore", version, after_help = EXAMPLES, after_long_help = ENVIRONMENT)]
struct Cli {
    /// The Redis to work on: redis://, unix://, redis+cluster://h:p,h:p or
    /// redis+sentinel://h:p,h:p/master [default: redis://127.0.0.1:6379].
    #[arg(long, env = "REDIS_URL", hide_env_values = true, global = true)]
    url: Option<String>,
    /// The key prefix the gateway uses: empty for the deployment's layout, `{gw}:` on a
    /// cluster.
    #[arg(long, default_value = "", global = true)]
    prefix: String,
    /// Read the Redis password from this file (its first line), not from the URL, which
    /// process listings and shell history keep. GWSTORE_PASSWORD does the same.
    #[arg(long, value_name = "FILE", global = true)]
    password_file: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Lists one family of records (corrupt ones by key with the reason), or the ACME
    /// challenges and accounts, the locks, or the store's meta.
    Inspect(inspect::Args),
    /// Shows one record, as a table or --json; secrets as their size or `hashed`.
    Get(records::GetArgs),
    /// Writes one record from a file or standard input, validated and written as the
    /// gateway writes (indexes and change feed included). An invalid record exits 2 and
    /// writes nothing.
    Set(records::SetArgs),
    /// Deletes one record; asks first on a terminal, needs --yes otherwise.
    Delete(records::DeleteArgs),
    /// Prints the change feed as changes happen (ctrl-c ends it, --count N for scripts).
    Watch(watch::Args),
    /// What differs between the store and a backup or export, or between two files, per
    /// record and field; with --revision A..B, what changed in the store between two
    /// revisions. Exits 0 when nothing differs, 1 otherwise.
    Diff(diff::Args),
    /// The configuration's changes (proxies, routes, certificates without PEMs, auth
    /// configs): revision, time, who, and what changed per field.
    History(history::Args),
    /// Rolls the configuration, one family or one record back to a revision: shows the
    /// plan, then asks, or takes --yes. Refuses (exit 2, nothing written) when a record
    /// changed since, unless --force.
    Rollback(rollback::Args),
    /// Looks for what is wrong: corrupt records, index gaps, expiry entries that disagree,
    /// missing defaults, certificates due. Exits 0 healthy, 1 findings, 2 could not check.
    Doctor(doctor::Args),
    /// Where the migration from the old storage layer stands, finishing it, and the way back.
    Migrate(migrate::Args),
    /// Writes the whole store as it is, secrets included, to a file only its owner reads:
    /// every record but OAuth codes, tokens and grants. `restore` gives it back exactly.
    Backup(backup::BackupArgs),
    /// Restores a backup: into an empty store at once, into one with records after showing
    /// the plan (with --apply).
    Restore(backup::RestoreArgs),
    /// Writes the configuration as JSON lines with a format version, for reading and
    /// editing; secrets only with --include-secrets. Use `backup` for a backup.
    Export(transfer::ExportArgs),
    /// Reads an export, checks all of it, shows the plan, and with --apply writes it.
    Import(transfer::ImportArgs),
    /// Prints a completion script for SHELL (for example
    /// `gwstore completions bash > /etc/bash_completion.d/gwstore`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Prints the manual page, in roff (`gwstore man | man -l -`).
    Man,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match run(&cli) {
        Ok(outcome) => outcome,
        Err(error) => {
            eprintln!("{}", terminal::error_line(&error));
            Outcome::Failed
        }
    };
    ExitCode::from(outcome as u8)
}

fn run(cli: &Cli) -> Result<Outcome, String> {
    match &cli.command {
        Command::Inspect(args) => inspect::run(&looking(cli)?, args),
        Command::Doctor(args) => doctor::run(cli, args),
        Command::Migrate(args) => migrate::run(cli, args),
        Command::Backup(args) => backup::backup(&looking(cli)?, args),
        Command::Restore(args) => backup::restore(&looking(cli)?, args),
        Command::Export(args) => transfer::export(&looking(cli)?, args),
        Command::Import(args) => transfer::import(&looking(cli)?, args),
        Command::Get(args) => records::get(&looking(cli)?, args),
        Command::Set(args) => records::set(&seeding(cli)?, args),
        Command::Delete(args) => records::delete(&seeding(cli)?, args),
        Command::Watch(args) => watch::run(&looking(cli)?, args),
        Command::Diff(args) => match args.revisions() {
            Some(range) => history::diff(&looking(cli)?, range),
            None if args.has_second() => diff::run(None, args),
            None => diff::run(Some(&looking(cli)?), args),
        },
        Command::History(args) => history::run(&looking(cli)?, args),
        Command::Rollback(args) => rollback::run(&seeding(cli)?, args),
        Command::Completions { shell } => {
            let mut command = Cli::command();
            clap_complete::generate(*shell, &mut command, "gwstore", &mut std::io::stdout());
            Ok(Outcome::Clean)
        }
        Command::Man => {
            clap_mangen::Man::new(Cli::command())
                .render(&mut std::io::stdout())
                .map_err(|e| e.to_string())?;
            Ok(Outcome::Clean)
        }
    }
}

/// Where the URL came from, for the line that says which Redis this is.
const DEFAULT_URL: &str = "redis://127.0.0.1:6379";

/// The configuration for `cli`'s Redis, password and prefix. Says on stderr which Redis it
/// is (its password masked), so that an operator never works on the wrong one unawares.
fn config(cli: &Cli) -> Result<StorageConfig, String> {
    let (url, source) = match &cli.url {
        Some(url) if std::env::var("REDIS_URL").ok().as_ref() == Some(url) => {
            (url.as_str(), "REDIS_URL")
        }
        Some(url) => (url.as_str(), "--url"),
        None => (DEFAULT_URL, "the default; set --url or REDIS_URL"),
    };
    let mut config = StorageConfig::new(url)
        .map_err(|e| format!("{e}; check --url or REDIS_URL"))?
        .with_key_prefix(cli.prefix.clone());
    if let Some(password) = password(cli)? {
        config = config.with_password(&password).map_err(explain)?;
    }
    eprintln!("gwstore: Redis {} ({source})", config.url);
    Ok(config)
}

/// The password from `--password-file`, `GWSTORE_PASSWORD` or `REDISCLI_AUTH`, in that
/// order; none leaves the URL's own.
fn password(cli: &Cli) -> Result<Option<String>, String> {
    if let Some(path) = &cli.password_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the password file {}: {e}", path.display()))?;
        let password = text.lines().next().unwrap_or_default().to_owned();
        if password.is_empty() {
            return Err(format!("the password file {} is empty", path.display()));
        }
        return Ok(Some(password));
    }
    Ok(["GWSTORE_PASSWORD", "REDISCLI_AUTH"]
        .into_iter()
        .find_map(|name| std::env::var(name).ok().filter(|p| !p.is_empty())))
}

/// A storage that reads and never seeds: looking must not change what is looked at.
fn looking(cli: &Cli) -> Result<Storage, String> {
    connect(config(cli)?.without_seeding())
}

/// A storage that seeds the defaults, as every gateway process does.
fn seeding(cli: &Cli) -> Result<Storage, String> {
    connect(config(cli)?)
}

fn connect(config: StorageConfig) -> Result<Storage, String> {
    let url = config.url.to_string();
    let storage = Storage::new(config).map_err(explain)?;
    storage.health_check().map_err(|e| match e {
        storage::Error::Auth { .. } => format!(
            "Redis at {url} refused the credentials; check the password (--password-file, \
             GWSTORE_PASSWORD or the URL) and the ACL user"
        ),
        e => format!(
            "cannot reach Redis at {url}: {e}; check --url or REDIS_URL, and that Redis runs"
        ),
    })?;
    Ok(storage)
}

/// `error` as an operator reads it: what went wrong, and what to do where there is
/// something to do.
fn explain(error: storage::Error) -> String {
    match &error {
        storage::Error::WrongType { key } => format!(
            "{error}. See what it holds with `redis-cli TYPE {key}`; if it is an index \
             (`index:…`, `auth:config:index`) that a stray write replaced, delete it (`redis-cli DEL {key}`) \
             and run `gwstore doctor --fix`, which rebuilds the index from the records"
        ),
        storage::Error::Invalid { field: "key_prefix", .. } => format!(
            "{error}. Pass the prefix the gateway uses on this cluster: --prefix '{{gw}}:'"
        ),
        _ => error.to_string(),
    }
}
