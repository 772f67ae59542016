//! A blocking program (a certificate manager, a tool): store a proxy and a route, list the
//! routes in match order, and renew what is due under the renewal lock.
//!
//! `REDIS_URL=redis://127.0.0.1:6379 cargo run -p storage --features blocking --example blocking`

use std::time::Duration;

use storage::blocking::Storage;
use storage::{ProxyTarget, Route};

fn main() -> Result<(), storage::Error> {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    // Connects and seeds the defaults (`localhost` excludes /token from authentication).
    let storage = Storage::connect(url.as_str())?;

    let mut proxy = ProxyTarget::new("api.example.com", "http://backend:8080");
    proxy.auth_enabled = true;
    storage.store_proxy_target(proxy)?;
    // A partial update: only this field changes, whoever else writes the record meanwhile.
    storage.update_proxy_target("api.example.com", |p| p.preserve_host_header = false)?;
    storage.store_route(Route::to_url("docs", "/docs", 50, "http://docs:8000"))?;

    // A listing reports corrupt records beside the good ones; `into_strict` fails on one.
    for route in storage.list_routes()?.into_strict()? {
        println!(
            "{:>4}  {:<28} {}",
            route.priority, route.route_id, route.path_pattern
        );
    }

    let within = Duration::from_secs(30 * 86_400);
    for cert in storage.get_expiring_certificates(within)?.records {
        // One renewer per certificate, across processes of both modes.
        let Some(lock) = storage.try_acquire_lock(&cert.cert_name, Duration::from_secs(300))?
        else {
            continue;
        };
        println!("due: {} {:?}", cert.cert_name, cert.domains);
        // ... order a new certificate, then store it fenced: refused if the lock was lost.
        storage.store_certificate_fenced(cert, &lock.fence())?;
        lock.release()?;
    }
    Ok(())
}
