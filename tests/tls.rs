//! `rediss://` URLs, in both modes, against a `redis-server` that speaks only TLS, with a
//! certificate authority made for the test and trusted through `SSL_CERT_FILE`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use test_harness::{RedisServer, ServerOptions};

fn openssl(dir: &Path, args: &[&str]) {
    let status = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl must be installed to make the test certificates");
    assert!(status.success(), "openssl {args:?} failed");
}

/// A CA and a server certificate for 127.0.0.1 signed by it.
fn make_certificates(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "1",
            "-subj",
            "/CN=storage-test-ca",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    );
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
         keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "1",
            "-extfile",
            "server.ext",
        ],
    );
}

#[test]
fn rediss_urls_work_in_both_modes() {
    let dir = std::env::temp_dir().join(format!("storage-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    make_certificates(&dir);
    // rustls-native-certs reads the trust store from here; this binary has no other test.
    std::env::set_var("SSL_CERT_FILE", dir.join("ca.crt"));
    let server = RedisServer::start_with(ServerOptions::new().tls(
        &dir.join("server.crt"),
        &dir.join("server.key"),
        &dir.join("ca.crt"),
    ));
    let url = server.url();

    let blocking = storage::blocking::Storage::connect(url.as_str()).expect("blocking over TLS");
    blocking.health_check().unwrap();
    let localhost = blocking.get_proxy_target("localhost").unwrap().unwrap();
    assert!(localhost.is_auth_excluded("/token"));

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let storage = storage::asynchronous::Storage::connect(url.as_str())
            .await
            .expect("async over TLS");
        let routes = storage.list_routes().await.unwrap();
        assert_eq!(routes.records.len(), storage::DEFAULT_ROUTES.len());
    });

    // A plain redis:// URL to the TLS port fails with a typed error, not a hang.
    let plain = format!("redis://127.0.0.1:{}/", server.port());
    let config = storage::StorageConfig::new(&plain)
        .unwrap()
        .with_connect_timeout(Duration::from_secs(1))
        .with_response_timeout(Duration::from_secs(1));
    let refused = storage::blocking::Storage::connect(config);
    assert!(refused.is_err());
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
