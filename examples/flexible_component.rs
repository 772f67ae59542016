//! The design's flexible component: one struct holding one storage, with a sync method that
//! calls it without `.await` and an async method that calls it with `.await`. Both share one
//! initialization, one defaults schedule, one live configuration and one set of stats; each
//! mode has its own connections.
//!
//! `REDIS_URL=redis://127.0.0.1:6379 cargo run -p storage --features blocking,async --example flexible_component`

use storage::{ProxyTarget, Stats, UnifiedStorage};

/// A component used from blocking code and from async code alike.
pub struct FlexibleComponent {
    storage: UnifiedStorage,
}

impl FlexibleComponent {
    /// A component on the Redis at `url`; nothing is sent until it is used.
    pub fn new(url: &str) -> storage::Result<Self> {
        Ok(FlexibleComponent {
            storage: UnifiedStorage::new(url)?,
        })
    }

    /// Routes `host` to `target`, from blocking code.
    pub fn route_now(&self, host: &str, target: &str) -> storage::Result<()> {
        self.storage
            .blocking()
            .store_proxy_target(ProxyTarget::new(host, target))?;
        Ok(())
    }

    /// Where `host` goes, from blocking code.
    pub fn target_now(&self, host: &str) -> storage::Result<Option<String>> {
        let proxy = self.storage.blocking().get_proxy_target(host)?;
        Ok(proxy.map(|p| p.target_url))
    }

    /// Routes `host` to `target`, from async code.
    pub async fn route(&self, host: &str, target: &str) -> storage::Result<()> {
        self.storage
            .asynchronous()
            .store_proxy_target(ProxyTarget::new(host, target))
            .await?;
        Ok(())
    }

    /// Where `host` goes, from async code.
    pub async fn target(&self, host: &str) -> storage::Result<Option<String>> {
        let proxy = self.storage.asynchronous().get_proxy_target(host).await?;
        Ok(proxy.map(|p| p.target_url))
    }

    /// What both modes did, counted once.
    pub fn stats(&self) -> Stats {
        self.storage.blocking().stats()
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let component = std::sync::Arc::new(FlexibleComponent::new(&url)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;

    // Sync writes, async reads.
    component.route_now("sync.example.com", "http://sync:80")?;
    let seen = runtime.block_on(component.target("sync.example.com"))?;
    println!("async sees sync.example.com -> {seen:?}");

    // Async writes, sync reads (here from a blocking task of the runtime).
    runtime.block_on(component.route("async.example.com", "http://async:80"))?;
    let blocking = std::sync::Arc::clone(&component);
    let seen = runtime.block_on(tokio::task::spawn_blocking(move || {
        blocking.target_now("async.example.com")
    }))??;
    println!("sync sees async.example.com -> {seen:?}");

    let stats = component.stats();
    println!(
        "{} operations over both modes, {} connections open",
        stats.operations, stats.connections_open
    );
    Ok(())
}
