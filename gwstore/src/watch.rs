//! `gwstore watch`: the change feed as it happens, for an operator following a deploy or a
//! script waiting for a change. A data loss is said, never skipped.

use serde_json::json;
use storage::blocking::Storage;
use storage::{ChangeOp, WatchEvent};

use crate::terminal::{paint, WARN};
use crate::{explain, Outcome};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Start after this revision; the store's current revision if not given (only new
    /// changes). `--from 0` replays what the feed still holds.
    #[arg(long, value_name = "REV")]
    from: Option<u64>,
    /// One JSON object per line, for scripts.
    #[arg(long)]
    json: bool,
    /// Stop after this many changes (a resync counts as one). Without it, ctrl-c ends it.
    #[arg(long, value_name = "N")]
    count: Option<u64>,
}

pub fn run(storage: &Storage, args: &Args) -> Result<Outcome, String> {
    let from = match args.from {
        Some(from) => from,
        None => storage.list_proxy_targets().map_err(explain)?.revision,
    };
    if !args.json {
        eprintln!("watching changes after revision {from}; ctrl-c ends it");
    }
    if args.count == Some(0) {
        return Ok(Outcome::Clean);
    }
    for (index, event) in storage.watch(from).map_err(explain)?.enumerate() {
        match event.map_err(explain)? {
            WatchEvent::Change(change) => {
                let op = match change.op {
                    ChangeOp::Put => "put",
                    ChangeOp::Delete => "delete",
                };
                if args.json {
                    let line = json!({
                        "revision": change.revision,
                        "family": change.family.to_string(),
                        "op": op,
                        "id": change.id,
                    });
                    println!("{line}");
                } else {
                    println!(
                        "{:>8}  {op:<6}  {} {}",
                        change.revision, change.family, change.id
                    );
                }
            }
            WatchEvent::Resync { seen, current } => {
                if args.json {
                    println!(
                        "{}",
                        json!({ "resync": { "seen": seen, "current": current } })
                    );
                } else {
                    println!(
                        "{}",
                        paint(
                            &format!(
                                "resync: changes after {seen} are gone from the feed (trimmed, or \
                                 Redis lost its data); the store is at {current}: read it again"
                            ),
                            WARN
                        )
                    );
                }
            }
        }
        if args.count.is_some_and(|count| index as u64 + 1 >= count) {
            break;
        }
    }
    Ok(Outcome::Clean)
}
