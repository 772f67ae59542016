//! Following changes from blocking code: a `watch` iterator, and a `LiveConfig` that keeps
//! proxies and routes in memory, current within milliseconds of each write.
//!
//! `REDIS_URL=redis://127.0.0.1:6379 cargo run -p storage --features blocking --example live_config`

use storage::blocking::Storage;
use storage::{ProxyTarget, WatchEvent};

fn main() -> Result<(), storage::Error> {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let storage = Storage::connect(url.as_str())?;

    let live = storage.live_config()?; // a thread of its own keeps it current
    let proxies = storage.list_proxy_targets()?;
    let watcher = storage.watch(proxies.revision)?; // every change after the listing

    storage.store_proxy_target(ProxyTarget::new("shop.example.com", "http://shop:80"))?;

    for event in watcher.take(1) {
        match event? {
            WatchEvent::Change(change) => {
                println!("r{} {} {}", change.revision, change.family, change.id)
            }
            WatchEvent::Resync { seen, current } => println!("lost {seen}..{current}: list again"),
        }
    }
    // The live configuration has it too (or will, a moment later).
    let seen = live.read(|config| config.proxy("shop.example.com").is_some());
    println!(
        "live configuration at r{} has shop.example.com: {seen}",
        live.revision()
    );
    Ok(())
}
