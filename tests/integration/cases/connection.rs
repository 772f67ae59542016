//! Connections: credentials, redaction, recovery, timeouts.

use std::time::{Duration, Instant};

use super::{connect, maybe, maybe_test, pause, Storage};
use crate::harness::{RedisServer, ServerOptions};
use storage::{Error, StorageConfig};

fn assert_send_sync<T: Send + Sync + 'static>() {}

#[maybe]
#[maybe_test]
async fn storage_is_send_and_sync() {
    assert_send_sync::<Storage>();
}

#[maybe]
#[maybe_test]
async fn password_urls_work_and_the_password_never_shows() {
    let server = RedisServer::start_with(ServerOptions::new().password("hunter2-secret"));
    let url = format!("redis://:hunter2-secret@127.0.0.1:{}/", server.port());
    let storage = connect(StorageConfig::new(&url).unwrap()).await;
    storage.health_check().await.unwrap();
    let shown = format!(
        "{storage:?} {} {:?}",
        storage.config().url,
        storage.config()
    );
    assert!(!shown.contains("hunter2-secret"), "{shown}");
    assert!(shown.contains("***"), "{shown}");

    let wrong = format!("redis://:wrong-pass-xyz@127.0.0.1:{}/", server.port());
    let result = Storage::connect(wrong.as_str()).await;
    let error = result.expect_err("a wrong password must fail");
    let text = format!("{error} {error:?}");
    assert!(!text.contains("wrong-pass-xyz"), "{text}");
}

#[maybe]
#[maybe_test]
async fn acl_user_and_password_urls_work() {
    let server = RedisServer::start();
    let mut raw = server.raw();
    let _: () = redis::cmd("ACL")
        .arg(&["SETUSER", "gateway", "on", ">gw-pass-123", "~*", "+@all"])
        .query(&mut raw)
        .unwrap();
    let url = format!("redis://gateway:gw-pass-123@127.0.0.1:{}/", server.port());
    let storage = connect(StorageConfig::new(&url).unwrap()).await;
    let localhost = storage.get_proxy_target("localhost").await.unwrap();
    assert!(localhost.is_some());
    assert!(!format!("{storage:?}").contains("gw-pass-123"));
}

#[maybe]
#[maybe_test]
async fn recovers_after_redis_drops_every_connection() {
    let server = RedisServer::start();
    let storage = connect(StorageConfig::new(&server.url()).unwrap()).await;
    for _ in 0..4 {
        storage.get_proxy_target("localhost").await.unwrap();
    }
    let mut raw = server.raw();
    let killed: u64 = redis::cmd("CLIENT")
        .arg(&["KILL", "TYPE", "normal", "SKIPME", "yes"])
        .query(&mut raw)
        .unwrap();
    assert!(killed >= 1, "the storage's connections were dropped");
    for _ in 0..4 {
        let localhost = storage.get_proxy_target("localhost").await.unwrap();
        assert!(localhost.is_some());
    }
}

#[maybe]
#[maybe_test]
async fn unreachable_redis_is_a_connection_error_within_the_timeout() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = StorageConfig::new(&format!("redis://127.0.0.1:{port}/"))
        .unwrap()
        .with_connect_timeout(Duration::from_millis(300));
    let started = Instant::now();
    let result = Storage::connect(config).await;
    assert!(
        matches!(result, Err(Error::Connection { .. })),
        "{result:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[maybe]
#[maybe_test]
async fn a_slow_redis_is_a_timeout_error() {
    let server = RedisServer::start();
    let config = StorageConfig::new(&server.url())
        .unwrap()
        .with_response_timeout(Duration::from_millis(200));
    let storage = connect(config).await;
    // Redis holds every client's commands for 1.5 s once this returns: deterministic.
    let _: () = redis::cmd("CLIENT")
        .arg(&["PAUSE", "1500", "ALL"])
        .query(&mut server.raw())
        .unwrap();
    let started = Instant::now();
    let result = storage.get_proxy_target("localhost").await;
    assert!(matches!(result, Err(Error::Timeout { .. })), "{result:?}");
    assert!(
        started.elapsed() < Duration::from_millis(1400),
        "{:?}",
        started.elapsed()
    );
    // The late reply must not be taken for the answer to a later command.
    pause(Duration::from_millis(1500)).await;
    for _ in 0..4 {
        let route = storage.get_route("token").await.unwrap().unwrap();
        assert_eq!(route.route_id, "token");
        let proxy = storage
            .get_proxy_target("localhost")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(proxy.proxy_hostname, "localhost");
    }
}

#[maybe]
#[maybe_test]
async fn bad_urls_are_invalid_input() {
    for url in ["http://127.0.0.1:6379", "not a url", ""] {
        let result = StorageConfig::new(url);
        assert!(
            matches!(result, Err(Error::Invalid { field: "url", .. })),
            "{url}: {result:?}"
        );
    }
}

/// Every URL form redis-rs accepts that can carry a password, and every public type that
/// can print one: no password appears in `Debug` or `Display`, nor in the error of a
/// connection that fails.
#[maybe]
#[maybe_test]
async fn no_password_prints_in_any_url_form() {
    let secret = "pw-Zq81-never-shown";
    let forms = [
        format!("redis://:{secret}@127.0.0.1:1/"),
        format!("redis://gateway:{secret}@127.0.0.1:1/0"),
        format!("rediss://gateway:{secret}@127.0.0.1:1/"),
        format!("unix:///tmp/no-such-redis.sock?pass={secret}"),
        format!("unix:///tmp/no-such-redis.sock?db=1&user=gw&pass={secret}"),
        format!("redis+unix:///tmp/no-such-redis.sock?pass={secret}"),
        format!("unix:///tmp/no-such-redis.sock?password={secret}"),
    ];
    for url in forms {
        // Without the `tls` feature a rediss:// URL is refused at once: that error counts.
        let config = match StorageConfig::new(&url) {
            Ok(config) => config.with_connect_timeout(Duration::from_millis(300)),
            Err(error) => {
                assert!(error.to_string().contains("`tls` feature"), "{error}");
                assert!(!format!("{error} {error:?}").contains(secret), "{error:?}");
                continue;
            }
        };
        let (storage, error) = match Storage::new(config.clone()) {
            Ok(storage) => {
                let error = storage.health_check().await;
                (
                    format!("{storage:?}"),
                    error.expect_err("nothing listens there"),
                )
            }
            Err(error) => (String::new(), error),
        };
        let shown = format!(
            "{} {:?} {config:?} {storage} {error} {error:?}",
            config.url, config.url
        );
        assert!(!shown.contains(secret), "{url}: {shown}");
        assert!(
            shown.contains("***"),
            "{url}: the password is shown masked: {shown}"
        );
    }
}

#[maybe]
#[maybe_test]
async fn initializing_against_a_replica_of_an_unseeded_store_is_read_only() {
    let master = RedisServer::start();
    let port = master.port().to_string();
    let replica =
        RedisServer::start_with(ServerOptions::new().args(["--replicaof", "127.0.0.1", &port]));
    let result = Storage::connect(StorageConfig::new(&replica.url()).unwrap()).await;
    assert!(matches!(result, Err(Error::ReadOnly { .. })), "{result:?}");
}

/// Something other than Redis on the port: one line that says so and names the address.
#[maybe]
#[maybe_test]
async fn a_port_where_no_redis_answers_is_a_protocol_error_naming_the_address() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(8) {
            let Ok(mut stream) = stream else { return };
            let mut buffer = [0u8; 512];
            let _ = stream.read(&mut buffer);
            let _ = stream.write_all(
                b"HTTP/1.1 400 Bad Request\r\nContent-Length: 11\r\nConnection: close\r\n\r\nBad Request",
            );
        }
    });
    let config = StorageConfig::new(&format!("redis://127.0.0.1:{port}/"))
        .unwrap()
        .with_connect_timeout(Duration::from_secs(1))
        .with_response_timeout(Duration::from_secs(1));
    let error = Storage::connect(config).await.unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, Error::Protocol { .. }), "{error:?}");
    assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
    assert!(!text.contains('\n'), "{text:?}");
}

#[maybe]
#[maybe_test]
async fn a_closed_port_is_a_connection_error_naming_the_address_and_not_the_password() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("redis://:pw-never-shown@127.0.0.1:{port}/");
    let error = Storage::connect(url.as_str()).await.unwrap_err();
    let text = format!("{error} {error:?}");
    assert!(error.is_connection_error(), "{error:?}");
    assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
    assert!(!text.contains("pw-never-shown"), "{text}");
}
