//! `gwstore`: the operator's command line for the gateway's Redis.
//!
//! Built on the blocking storage API, so it reads records exactly as the gateway does:
//! corrupt records by key, legacy records the index sets lack, secrets never shown. Commands
//! that only look (`inspect`, `doctor`, `migrate status`, `export`) never write, not even
//! the default records; `doctor --fix`, `migrate finish` and `import --apply` write, and say
//! what before they do.
//!
//! Exit codes: 0 healthy or done, 1 findings or conflicts, 2 could not check or refused.

mod doctor;
mod inspect;
mod migrate;
mod nodes;
mod terminal;
mod transfer;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
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
  gwstore export --output backup.jsonl      # configuration, without PEMs
  gwstore import backup.jsonl               # shows the plan
  gwstore import backup.jsonl --apply       # writes new records; --overwrite replaces";

/// What exit code a command ends with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Healthy, or done.
    Clean = 0,
    /// Findings, or conflicts left alone.
    Findings = 1,
    /// Could not check, or refused to act.
    Failed = 2,
}

/// Inspect, check, migrate, back up and restore the gateway's Redis.
#[derive(Parser, Debug)]
#[command(name = "gwstore", version, after_help = EXAMPLES)]
struct Cli {
    /// The Redis to work on (redis://, rediss://, unix://).
    #[arg(long, env = "REDIS_URL", default_value = "redis://127.0.0.1:6379")]
    url: String,
    /// The key prefix the gateway uses (empty for the deployment's layout).
    #[arg(long, default_value = "")]
    prefix: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Lists one family of records; corrupt ones by key with the reason.
    Inspect(inspect::Args),
    /// Looks for what is wrong: corrupt records, index gaps, expiry entries that disagree,
    /// missing defaults, certificates due. Exits 0 healthy, 1 findings, 2 could not check.
    Doctor(doctor::Args),
    /// Where the migration from the old storage layer stands, and finishing it.
    Migrate(migrate::Args),
    /// Writes the configuration as JSON lines with a format version.
    Export(transfer::ExportArgs),
    /// Reads an export, checks all of it, shows the plan, and with --apply writes it.
    Import(transfer::ImportArgs),
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
        Command::Export(args) => transfer::export(&looking(cli)?, args),
        Command::Import(args) => transfer::import(&looking(cli)?, args),
    }
}

/// The configuration for `cli`'s Redis and prefix.
fn config(cli: &Cli) -> Result<StorageConfig, String> {
    Ok(StorageConfig::new(&cli.url)
        .map_err(|e| format!("{e}; check --url or REDIS_URL"))?
        .with_key_prefix(cli.prefix.clone()))
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
    let storage = Storage::new(config).map_err(|e| e.to_string())?;
    storage.health_check().map_err(|e| {
        format!("cannot reach Redis at {url}: {e}; check --url or REDIS_URL, and that Redis runs")
    })?;
    Ok(storage)
}
