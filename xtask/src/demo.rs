//! `cargo xtask demo`: a blocking and an async component on one Redis, at the same moment.
//!
//! Uses `REDIS_URL` when set, else a throwaway `redis-server`. The throwaway server (or any
//! server, with `--load-fixtures`) first gets the existing deployment's records, with an
//! operator's own excluded path on `localhost`, so the demo shows the repair: all required
//! paths added, the operator's kept, every other record untouched, the corrupt one named.
//! With `--metrics`, a Prometheus recorder is installed first and its text page printed last.

use storage::{asynchronous, blocking, Certificate, Listing, ProxyTarget, Route};
use test_harness::fixtures::{self, LegacyRecord};
use test_harness::RedisServer;

use crate::recorder::PrometheusPage;
use crate::{say, Stop};

const OPERATOR_PATH: &str = "/operator-status";

pub fn run(load_flag: bool, metrics: bool) -> Result<(), Stop> {
    let page = metrics.then(PrometheusPage::install).transpose()?;
    let (url, server) = match std::env::var("REDIS_URL") {
        Ok(url) => (url, None),
        Err(_) => {
            let server = RedisServer::try_start(Default::default())?;
            say(format_args!(
                "started a throwaway redis-server at {}",
                server.url()
            ))?;
            (server.url(), Some(server))
        }
    };
    let fixtures = if server.is_some() || load_flag {
        let fixtures = fixtures::deployment();
        load(&url, &fixtures)?;
        say(format_args!(
            "loaded {} legacy records; localhost has auth_excluded_paths = [{OPERATOR_PATH:?}] \
             (an operator's own path)",
            fixtures.len()
        ))?;
        Some(fixtures)
    } else {
        None
    };

    // Both components start together, as a mixed deployment does after a restart.
    let blocking_url = url.clone();
    let blocking = std::thread::spawn(move || blocking_component(&blocking_url));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    let async_report = runtime.block_on(async_component(&url));
    let blocking_report = blocking
        .join()
        .map_err(|_| "the blocking component panicked".to_owned())?;
    say(format_args!("\n{}", blocking_report?))?;
    say(format_args!("\n{}", async_report?))?;

    if let Some(fixtures) = fixtures {
        check_untouched(&url, &fixtures)?;
    }
    if let Some(page) = page {
        say("\n== metrics, as a Prometheus scrape of this process would see them")?;
        say(page.render().trim_end())?;
    }
    drop(server);
    Ok(())
}

fn blocking_component(url: &str) -> Result<String, String> {
    let storage = blocking::Storage::connect(url).map_err(|e| format!("blocking: {e}"))?;
    let localhost = storage
        .get_proxy_target("localhost")
        .map_err(|e| e.to_string())?;
    let proxies = storage.list_proxy_targets().map_err(|e| e.to_string())?;
    let routes = storage.list_routes().map_err(|e| e.to_string())?;
    Ok(report(
        "blocking (Storage::connect)",
        localhost,
        &proxies,
        &routes,
    ))
}

async fn async_component(url: &str) -> Result<String, String> {
    // The old async layer's mistake, on purpose: never calling initialize(). First use does.
    let storage = asynchronous::Storage::new(url).map_err(|e| format!("async: {e}"))?;
    let localhost = storage
        .get_proxy_target("localhost")
        .await
        .map_err(|e| e.to_string())?;
    let proxies = storage
        .list_proxy_targets()
        .await
        .map_err(|e| e.to_string())?;
    let routes = storage.list_routes().await.map_err(|e| e.to_string())?;
    let expiring = storage
        .get_expiring_certificates(RENEWAL_WINDOW)
        .await
        .map_err(|e| e.to_string())?;
    let mut lines = report(
        "async (Storage::new, no initialize call)",
        localhost,
        &proxies,
        &routes,
    );
    lines.push_str(&certificates_line(&expiring));
    Ok(lines)
}

fn report(
    who: &str,
    localhost: Option<ProxyTarget>,
    proxies: &Listing<ProxyTarget>,
    routes: &Listing<Route>,
) -> String {
    let mut lines = vec![format!("== {who}")];
    match localhost {
        None => lines.push("localhost: MISSING".to_owned()),
        Some(proxy) => {
            let yes_no = |path: &str| {
                if proxy.is_auth_excluded(path) {
                    "yes"
                } else {
                    "NO"
                }
            };
            lines.push(format!(
                "localhost -> {}; /token skips auth: {}; /authorize: {}; /device/code: {}",
                proxy.target_url,
                yes_no("/token"),
                yes_no("/authorize"),
                yes_no("/device/code"),
            ));
            lines.push(format!(
                "  auth_excluded_paths: {:?}",
                proxy.auth_excluded_paths.unwrap_or_default()
            ));
        }
    }
    let hosts: Vec<_> = proxies
        .records
        .iter()
        .map(|p| p.proxy_hostname.as_str())
        .collect();
    lines.push(format!("proxies: {hosts:?}"));
    for corrupt in &proxies.corrupt {
        lines.push(format!(
            "  corrupt record reported, left as is: {} ({})",
            corrupt.key, corrupt.reason
        ));
    }
    lines.push(format!(
        "enabled routes, in match order ({}):",
        routes.records.len()
    ));
    for route in &routes.records {
        lines.push(format!(
            "  {:>3}  {:<28} {}",
            route.priority, route.route_id, route.path_pattern
        ));
    }
    lines.join("\n")
}

/// What a certificate manager would renew now.
const RENEWAL_WINDOW: std::time::Duration = std::time::Duration::from_secs(30 * 86_400);

fn certificates_line(expiring: &Listing<Certificate>) -> String {
    let names: Vec<String> = expiring
        .records
        .iter()
        .map(|c| {
            format!(
                "{} {:?} (expires {})",
                c.cert_name,
                c.domains,
                c.expires_at.as_ref().map_or("?", |t| t.as_str())
            )
        })
        .collect();
    format!("\ncertificates due for renewal within 30 days: {names:?}")
}

fn raw(url: &str) -> Result<redis::Connection, String> {
    redis::Client::open(url)
        .and_then(|c| c.get_connection())
        .map_err(|e| format!("raw connection: {e}"))
}

fn load(url: &str, fixtures: &[&LegacyRecord]) -> Result<(), String> {
    let mut connection = raw(url)?;
    for fixture in fixtures {
        if fixture.key == "proxy:localhost" {
            let mut with_path = (*fixture).clone();
            with_path.value = Some(with_operator_path(fixture.text())?);
            with_path.store(&mut connection, "");
        } else {
            fixture.store(&mut connection, "");
        }
    }
    Ok(())
}

fn with_operator_path(json: &str) -> Result<String, String> {
    let mut record: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format!("localhost fixture: {e}"))?;
    record["auth_excluded_paths"] = serde_json::json!([OPERATOR_PATH]);
    Ok(record.to_string())
}

/// Every record other than `localhost` must read back byte for byte as it was loaded.
fn check_untouched(url: &str, fixtures: &[&LegacyRecord]) -> Result<(), Stop> {
    let mut connection = raw(url)?;
    let mut changed = Vec::new();
    for fixture in fixtures.iter().filter(|f| f.key != "proxy:localhost") {
        let now: Option<String> = redis::cmd("GET")
            .arg(&fixture.key)
            .query(&mut connection)
            .map_err(|e| format!("GET {}: {e}", fixture.key))?;
        if now.as_deref() != Some(fixture.text()) {
            changed.push(fixture.key.clone());
        }
    }
    if changed.is_empty() {
        say(format_args!(
            "\nall {} other legacy records are byte-for-byte unchanged",
            fixtures.len() - 1
        ))
    } else {
        Err(format!("legacy records changed: {changed:?}").into())
    }
}
