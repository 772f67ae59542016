//! `gwstore migrate status|finish|rollback`: the migration from the old storage layer, and
//! the way back.

use clap::Subcommand;
use serde_json::json;
use storage::{FamilyCounts, MigrationPhase, MigrationStatus};

use crate::terminal::{confirmed, paint, plural, GOOD, WARN};
use crate::{explain, looking, seeding, Cli, Outcome};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    step: Step,
}

#[derive(Subcommand, Debug)]
enum Step {
    /// The phase, and per family the records no index names (by key) and the entries that
    /// name no record. Exits 1 when the migration is finished but records are missing from
    /// their indexes: a process of the old layer still writes.
    Status {
        /// One JSON document for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Re-indexes, then marks the migration finished: listings read the indexes alone from
    /// then on. Stop every process of the old layer first.
    Finish {
        /// Do it without asking.
        #[arg(long)]
        yes: bool,
    },
    /// Takes `finish` back: the store is mixed again, listings scan for old-layer records,
    /// and processes of the old layer may run again.
    Rollback {
        /// Do it without asking.
        #[arg(long)]
        yes: bool,
    },
}

pub fn run(cli: &Cli, args: &Args) -> Result<Outcome, String> {
    let status = looking(cli)?.migration_status().map_err(explain)?;
    match args.step {
        Step::Status { json: true } => {
            println!("{}", status_json(&status));
            Ok(verdict(&status))
        }
        Step::Status { json: false } => {
            print_status(&status);
            Ok(verdict(&status))
        }
        Step::Finish { yes } => finish(cli, &status, yes),
        Step::Rollback { yes } => roll_back(cli, &status, yes),
    }
}

/// 1 when the store is finished yet holds records its indexes lack: listings miss them.
fn verdict(status: &MigrationStatus) -> Outcome {
    if status.phase == MigrationPhase::Finished && status.unindexed.total() > 0 {
        Outcome::Findings
    } else {
        Outcome::Clean
    }
}

fn finish(cli: &Cli, status: &MigrationStatus, yes: bool) -> Result<Outcome, String> {
    print_status(status);
    if status.phase == MigrationPhase::Finished && status.unindexed.total() == 0 {
        println!("{}", paint("already finished; nothing to do", GOOD));
        return Ok(Outcome::Clean);
    }
    println!(
        "\nfinish will: add {} to the index sets, set every certificate's expiry in the \
         expiry index, then mark the migration finished. Listings then read the indexes \
         alone: a process of the old layer that still writes would not be seen \
         (`gwstore migrate rollback` takes it back).",
        plural(status.unindexed.total(), "record", "records")
    );
    if !yes && !confirmed("finish", "finish")? {
        return Ok(Outcome::Failed);
    }
    let after = seeding(cli)?.finish_migration().map_err(explain)?;
    println!();
    print_status(&after);
    Ok(Outcome::Clean)
}

fn roll_back(cli: &Cli, status: &MigrationStatus, yes: bool) -> Result<Outcome, String> {
    print_status(status);
    if status.phase == MigrationPhase::Mixed {
        println!("{}", paint("already mixed; nothing to do", GOOD));
        return Ok(Outcome::Clean);
    }
    println!(
        "\nrollback will: mark the migration mixed again. Listings then also scan the \
         keyspace for records the old layer writes (one scan per family), and processes of \
         the old layer may run beside this one. The index sets stay as they are."
    );
    if !yes && !confirmed("roll back", "rollback")? {
        return Ok(Outcome::Failed);
    }
    let after = looking(cli)?.roll_back_migration().map_err(explain)?;
    println!();
    print_status(&after);
    Ok(Outcome::Clean)
}

/// `0 proxies, 2 routes, …`, in the storage's own order and names.
fn per_family(counts: &FamilyCounts) -> String {
    let counts: Vec<String> = counts
        .by_family()
        .map(|(family, count)| format!("{count} {family}"))
        .collect();
    counts.join(", ")
}

fn phase_name(phase: MigrationPhase) -> &'static str {
    match phase {
        MigrationPhase::Mixed => "mixed",
        MigrationPhase::Finished => "finished",
    }
}

fn print_status(status: &MigrationStatus) {
    let phase = match status.phase {
        MigrationPhase::Mixed => paint("mixed (listings also scan for old-layer records)", WARN),
        MigrationPhase::Finished => paint("finished (listings read the indexes alone)", GOOD),
    };
    println!("phase: {phase}");
    println!("not indexed: {}", per_family(&status.unindexed));
    for key in &status.unindexed_keys {
        println!("  {key}");
    }
    println!("dangling index entries: {}", per_family(&status.dangling));
    if verdict(status) == Outcome::Findings {
        println!(
            "{}",
            paint(
                "finished, yet records are missing from their indexes: a process of the old \
                 layer still writes, and listings do not show them. Stop it and run \
                 `gwstore doctor --fix`, or `gwstore migrate rollback` while it must run",
                WARN
            )
        );
    }
}

fn status_json(status: &MigrationStatus) -> serde_json::Value {
    let counts = |counts: &FamilyCounts| {
        counts
            .by_family()
            .map(|(family, n)| (family.to_owned(), json!(n)))
            .collect::<serde_json::Map<_, _>>()
    };
    json!({
        "phase": phase_name(status.phase),
        "unindexed": counts(&status.unindexed),
        "unindexed_keys": status.unindexed_keys,
        "dangling": counts(&status.dangling),
        "healthy": verdict(status) == Outcome::Clean,
    })
}
