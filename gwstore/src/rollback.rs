//! `gwstore rollback --to REV [FAMILY [ID]]`: the configuration, one family or one record
//! back to what it was at a revision. Shows the plan first (create, update or delete per
//! record, with a diff per field), then asks, or takes `--yes`.

use storage::blocking::Storage;
use storage::{Error, RollbackScope};

use crate::history::{change_family, print_delta};
use crate::inspect::Family;
use crate::terminal::{confirmed, paint, plural, BAD, WARN};
use crate::{explain, Outcome};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The revision to go back to (`gwstore history` lists them).
    #[arg(long, value_name = "REV")]
    to: u64,
    /// Only this family: proxies, routes or auth-configs.
    family: Option<Family>,
    /// Only this record.
    id: Option<String>,
    /// Write without asking. Without a terminal to ask on, it is required.
    #[arg(long)]
    yes: bool,
    /// Overwrite records a writer changed since the plan, or wrote without history, instead
    /// of refusing.
    #[arg(long)]
    force: bool,
}

pub fn run(storage: &Storage, args: &Args) -> Result<Outcome, String> {
    let scope = match (args.family, &args.id) {
        (Some(family), Some(id)) => RollbackScope::Record(change_family(family)?, id.clone()),
        (Some(family), None) => RollbackScope::Family(change_family(family)?),
        (None, _) => RollbackScope::All,
    };
    let plan = storage.plan_rollback(args.to, &scope).map_err(explain)?;
    for skipped in &plan.skipped {
        println!(
            "{}",
            paint(
                &format!(
                    "left as it is: {} {} ({})",
                    skipped.change.family, skipped.change.id, skipped.reason
                ),
                WARN
            )
        );
    }
    if plan.is_empty() {
        println!(
            "nothing to roll back: the records are as they were at revision {}",
            args.to
        );
        return Ok(Outcome::Clean);
    }
    for step in &plan.steps {
        print_delta(&step.change);
    }
    let action = format!(
        "roll {} back to revision {}",
        plural(plan.steps.len(), "record", "records"),
        args.to
    );
    if !args.yes && !confirmed(&action, "rollback")? {
        return Ok(Outcome::Failed);
    }
    match storage.apply_rollback(&plan, args.force) {
        Ok(()) => {
            println!(
                "rolled {} back to revision {}",
                plural(plan.steps.len(), "record", "records"),
                args.to
            );
            Ok(Outcome::Clean)
        }
        Err(Error::ChangedSince { keys, written }) => {
            let mut message = format!(
                "{}: {}",
                paint("changed since the plan", BAD),
                keys.join(", ")
            );
            if written == 0 {
                message.push_str("; nothing was written. Look again with `gwstore history`, or pass --force to overwrite");
            } else {
                message.push_str(&format!(
                    "; {} had been written before; run the rollback again to finish it",
                    plural(written, "record", "records")
                ));
            }
            Err(message)
        }
        Err(error) => Err(explain(error)),
    }
}
