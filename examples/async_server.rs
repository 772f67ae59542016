//! An async server (the API, a proxy handler): lookups from a live configuration, which
//! never touches Redis per request, and a task that follows the change feed.
//!
//! The async API needs a tokio runtime with its IO and time drivers (`enable_all`, or
//! `#[tokio::main]`); without one, calls fail with `Error::Runtime` saying what is missing.
//!
//! `REDIS_URL=redis://127.0.0.1:6379 cargo run -p storage --features async --example async_server`

use futures_util::StreamExt;
use storage::asynchronous::Storage;
use storage::WatchEvent;

#[tokio::main]
async fn main() -> Result<(), storage::Error> {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let storage = Storage::connect(url.as_str()).await?;

    // Every request reads one snapshot: one revision, no round trip.
    let live = storage.live_config().await?;
    let snapshot = live.snapshot();
    println!(
        "revision {}: /token on localhost skips auth: {}",
        snapshot.revision(),
        snapshot.is_auth_excluded("localhost", "/token")
    );
    if let Some(route) = snapshot.route_for("api.example.com", "/docs") {
        println!("/docs goes to route {}", route.route_id);
    }

    // Follow the feed from the listing's revision; a data loss is a Resync, never a skip.
    let routes = storage.list_routes().await?;
    let events = storage.watch(routes.revision).await?.into_stream().take(1);
    let mut events = std::pin::pin!(events);
    let writer = storage.clone();
    tokio::spawn(async move {
        let proxy = storage::ProxyTarget::new("new.example.com", "http://new:80");
        writer.store_proxy_target(proxy).await
    });
    while let Some(event) = events.next().await {
        match event? {
            WatchEvent::Change(change) => {
                println!("{} {} {:?}", change.family, change.id, change.op)
            }
            WatchEvent::Resync { .. } => println!("list again"),
        }
    }
    // A health check: the follower runs and has heard from Redis lately.
    println!(
        "following: {}, heard at {:?}",
        live.is_following(),
        live.heard_at()
    );
    Ok(())
}
