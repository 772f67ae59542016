//! `gwstore migrate status|finish`: the migration from the old storage layer.

use std::io::{BufRead, IsTerminal, Write};

use clap::Subcommand;
use storage::{FamilyCounts, MigrationPhase, MigrationStatus};

use crate::terminal::{paint, GOOD, WARN};
use crate::{looking, seeding, Cli, Outcome};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    step: Step,
}

#[derive(Subcommand, Debug)]
enum Step {
    /// The phase, and per family the records no index names and the entries that name no
    /// record.
    Status,
    /// Re-indexes, then marks the migration finished: listings read the indexes alone from
    /// then on. Stop every process of the old layer first.
    Finish {
        /// Do it without asking.
        #[arg(long)]
        yes: bool,
    },
}

pub fn run(cli: &Cli, args: &Args) -> Result<Outcome, String> {
    let status = looking(cli)?
        .migration_status()
        .map_err(|e| e.to_string())?;
    print_status(&status);
    let Step::Finish { yes } = args.step else {
        return Ok(Outcome::Clean);
    };
    if status.phase == MigrationPhase::Finished && status.unindexed.total() == 0 {
        println!("{}", paint("already finished; nothing to do", GOOD));
        return Ok(Outcome::Clean);
    }
    println!(
        "\nfinish will: add {} records to the index sets, set every certificate's expiry in \
         the expiry index, then mark the migration finished. Listings then read the indexes \
         alone: a process of the old layer that still writes would not be seen.",
        status.unindexed.total()
    );
    if !yes && !confirmed()? {
        return Ok(Outcome::Failed);
    }
    let after = seeding(cli)?
        .finish_migration()
        .map_err(|e| e.to_string())?;
    println!();
    print_status(&after);
    Ok(Outcome::Clean)
}

fn confirmed() -> Result<bool, String> {
    if !std::io::stdin().is_terminal() {
        return Err("refusing to finish without confirmation: pass --yes".to_owned());
    }
    print!("type `finish` to go on: ");
    std::io::stdout().flush().map_err(|e| e.to_string())?;
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| e.to_string())?;
    if answer.trim() == "finish" {
        Ok(true)
    } else {
        println!("not finished");
        Ok(false)
    }
}

/// `0 proxies, 2 routes, …`, in the storage's own order and names.
fn per_family(counts: &FamilyCounts) -> String {
    let counts: Vec<String> = counts
        .by_family()
        .map(|(family, count)| format!("{count} {family}"))
        .collect();
    counts.join(", ")
}

fn print_status(status: &MigrationStatus) {
    let phase = match status.phase {
        MigrationPhase::Mixed => paint("mixed (listings also scan for old-layer records)", WARN),
        MigrationPhase::Finished => paint("finished (listings read the indexes alone)", GOOD),
    };
    println!("phase: {phase}");
    println!("not indexed: {}", per_family(&status.unindexed));
    println!("dangling index entries: {}", per_family(&status.dangling));
}
