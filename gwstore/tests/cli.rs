//! The binary as an operator runs it, against a real redis-server loaded with the legacy
//! deployment's records and a corrupt one: every command, every exit code, and the
//! export/import round trip.

use std::collections::BTreeMap;

use assert_cmd::Command;
use storage::oauth::ClientRegistration;
use test_harness::{fixtures, RedisServer};

/// A server holding the legacy deployment (with its broken proxy) and a registered client.
fn legacy_store() -> (RedisServer, String) {
    let server = RedisServer::start();
    fixtures::load_deployment(&mut server.raw(), "");
    // Registered by a storage that does not seed, so the store stays as the old layer left it.
    let config = storage::StorageConfig::new(&server.url())
        .unwrap()
        .without_seeding();
    let registered = storage::blocking::Storage::new(config)
        .and_then(|s| {
            s.register_client(ClientRegistration {
                client_name: "cli-test".into(),
                redirect_uris: vec!["https://app.example/cb".into()],
                confidential: true,
                ..Default::default()
            })
        })
        .unwrap();
    let secret = registered.client_secret.unwrap().expose().to_owned();
    (server, secret)
}

fn gwstore(server: &RedisServer) -> Command {
    let mut command = Command::cargo_bin("gwstore").unwrap();
    command.env("REDIS_URL", server.url());
    command
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(server: &RedisServer, args: &[&str]) -> Run {
    let output = gwstore(server).args(args).output().unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Every key and value, to compare before and after a command that must not write.
fn dump(server: &RedisServer) -> BTreeMap<String, String> {
    let mut raw = server.raw();
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut raw).unwrap();
    keys.into_iter()
        .map(|key| {
            let value: String = redis::cmd("DUMP")
                .arg(&key)
                .query::<Vec<u8>>(&mut raw)
                .map(|v| format!("{v:?}"))
                .unwrap_or_default();
            (key, value)
        })
        .collect()
}

#[test]
fn doctor_finds_what_is_wrong_writes_nothing_and_fixes_only_what_is_safe() {
    let (server, _) = legacy_store();
    let before = dump(&server);
    let found = run(&server, &["doctor"]);
    assert_eq!(found.code, 1, "{}", found.stdout);
    for expected in [
        "proxy:broken.example.com",
        "`proxy:api.example.com` is missing from its index set",
        "is stored without",
        "default route `authorize` is missing",
        "expiry index says nothing for `example-cert`",
        "certificate `example-cert`",
    ] {
        assert!(
            found.stdout.contains(expected),
            "no `{expected}` in:\n{}",
            found.stdout
        );
    }
    assert_eq!(dump(&server), before, "doctor without --fix wrote");

    let fixed = run(&server, &["doctor", "--fix"]);
    assert_eq!(
        fixed.code, 1,
        "a corrupt record and a due certificate remain"
    );
    let (_, after) = fixed
        .stdout
        .split_once("repairing:")
        .expect("--fix says what it repairs");
    assert!(!after.contains("is stored without"), "{after}");
    assert!(!after.contains("is missing"), "{after}");
    assert!(!after.contains("index set"), "{after}");
    let broken: String = redis::cmd("GET")
        .arg("proxy:broken.example.com")
        .query(&mut server.raw())
        .unwrap();
    assert_eq!(
        broken,
        fixtures::record("proxy:broken.example.com").text(),
        "never rewritten"
    );

    // What remains is for a person: once they dealt with it, the store is healthy.
    let _: () = redis::cmd("DEL")
        .arg("proxy:broken.example.com")
        .arg("cert:example-cert")
        .query(&mut server.raw())
        .unwrap();
    let healthy = run(&server, &["doctor", "--fix"]);
    assert_eq!(healthy.code, 0, "{}", healthy.stdout);
    assert!(healthy.stdout.contains("healthy"));
}

#[test]
fn a_redis_that_cannot_be_reached_exits_2_and_says_what_to_do() {
    let mut command = Command::cargo_bin("gwstore").unwrap();
    let output = command
        .args(["--url", "redis://127.0.0.1:1/", "doctor"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--url or REDIS_URL"), "{stderr}");
}

#[test]
fn inspect_lists_each_family_shows_corrupt_records_and_no_secret() {
    let (server, client_secret) = legacy_store();
    let proxies = run(&server, &["inspect", "proxies"]);
    assert_eq!(proxies.code, 1, "a corrupt proxy is a finding");
    assert!(proxies.stdout.contains("api.example.com"));
    assert!(proxies.stdout.contains("corrupt proxy:broken.example.com"));
    let routes = run(&server, &["inspect", "routes"]);
    assert_eq!(routes.code, 0);
    assert!(routes.stdout.contains("admin-api") && routes.stdout.contains("metrics"));
    let certs = run(&server, &["inspect", "certs"]);
    assert_eq!(certs.code, 0);
    assert!(certs.stdout.contains("example-cert") && certs.stdout.contains(" B"));
    let json = run(&server, &["inspect", "certs", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert!(
        doc["records"][0]["private_key_pem"]["bytes"]
            .as_u64()
            .unwrap()
            > 0
    );
    let clients = run(&server, &["inspect", "clients", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&clients.stdout).unwrap();
    assert_eq!(doc["records"][0]["client_secret_hash"], "hashed");
    let configs = run(&server, &["inspect", "auth-configs"]);
    assert_eq!(configs.code, 0);
    let everything = [proxies, certs, json, clients]
        .iter()
        .map(|r| format!("{}{}", r.stdout, r.stderr))
        .collect::<String>();
    for secret in ["MIIEfake", "MIIBfake", "s3cr3t", client_secret.as_str()] {
        assert!(!everything.contains(secret), "{secret} was printed");
    }
}

#[test]
fn migrate_shows_the_plan_asks_and_finishes() {
    let (server, _) = legacy_store();
    let status = run(&server, &["migrate", "status"]);
    assert_eq!(status.code, 0);
    assert!(status.stdout.contains("phase: mixed"));
    assert!(status
        .stdout
        .contains("not indexed: 3 proxies, 3 routes, 1 certificates"));
    let refused = run(&server, &["migrate", "finish"]);
    assert_eq!(refused.code, 2, "no terminal to ask, no --yes");
    assert!(refused.stdout.contains("finish will"));
    assert!(refused.stderr.contains("--yes"));
    let phase: Option<String> = redis::cmd("GET")
        .arg("meta:migration")
        .query(&mut server.raw())
        .unwrap();
    assert_eq!(phase, None, "refused means not finished");
    let finished = run(&server, &["migrate", "finish", "--yes"]);
    assert_eq!(finished.code, 0, "{}{}", finished.stdout, finished.stderr);
    assert!(finished.stdout.contains("phase: finished"));
    assert!(finished
        .stdout
        .contains("not indexed: 0 proxies, 0 routes, 0 certificates"));
}

#[test]
fn export_then_import_into_an_empty_redis_then_export_gives_the_same_text() {
    let (source, _) = legacy_store();
    let first = run(&source, &["export", "--include-secrets"]);
    assert_eq!(first.code, 1, "the corrupt proxy is reported and left out");
    assert!(first.stderr.contains("proxy:broken.example.com"));
    assert!(first.stdout.contains("MIIEfake"));
    let file = std::env::temp_dir().join(format!("gwstore-export-{}", std::process::id()));
    std::fs::write(&file, &first.stdout).unwrap();
    let path = file.display().to_string();

    let target = RedisServer::start();
    let plan = run(&target, &["import", &path]);
    assert_eq!(plan.code, 0, "{}{}", plan.stdout, plan.stderr);
    assert!(plan.stdout.contains("nothing written"));
    assert!(dump(&target).is_empty(), "the plan alone writes nothing");
    let applied = run(&target, &["import", &path, "--apply"]);
    assert_eq!(applied.code, 0, "{}{}", applied.stdout, applied.stderr);
    let again = run(&target, &["export", "--include-secrets"]);
    assert_eq!(again.stdout, first.stdout);

    // A record that differs is kept, and named, unless --overwrite.
    let _: () = redis::cmd("SET")
        .arg("route:token")
        .arg(r#"{"route_id":"token","path_pattern":"/token","target_type":"url","target_value":"http://other:1","priority":95,"created_at":"2026-01-01T00:00:00"}"#)
        .query(&mut target.raw())
        .unwrap();
    let kept = run(&target, &["import", &path, "--apply"]);
    assert_eq!(kept.code, 1);
    assert!(
        kept.stdout.contains("differs route token"),
        "{}",
        kept.stdout
    );
    assert!(kept.stdout.contains("--overwrite"));
    let replaced = run(&target, &["import", &path, "--apply", "--overwrite"]);
    assert_eq!(replaced.code, 0, "{}", replaced.stdout);
    let _ = std::fs::remove_file(&file);
}

/// An export without secrets has no PEMs: importing it never makes an active certificate
/// that serves no TLS, and says which it left.
#[test]
fn importing_an_export_without_secrets_names_each_keyless_certificate_and_leaves_it() {
    let (source, _) = legacy_store();
    let export = run(&source, &["export"]);
    assert!(!export.stdout.contains("MIIEfake"));
    let file = std::env::temp_dir().join(format!("gwstore-keyless-{}", std::process::id()));
    std::fs::write(&file, &export.stdout).unwrap();
    let path = file.display().to_string();
    let target = RedisServer::start();
    let plan = run(&target, &["import", &path]);
    assert_eq!(plan.code, 1, "{}", plan.stdout);
    assert!(
        plan.stdout.contains("no key certificate example-cert"),
        "{}",
        plan.stdout
    );
    let applied = run(&target, &["import", &path, "--apply"]);
    assert_eq!(applied.code, 1, "{}", applied.stdout);
    let cert: Option<String> = redis::cmd("GET")
        .arg("cert:example-cert")
        .query(&mut target.raw())
        .unwrap();
    assert_eq!(cert, None, "no keyless certificate written");
    let proxy: Option<String> = redis::cmd("GET")
        .arg("proxy:api.example.com")
        .query(&mut target.raw())
        .unwrap();
    assert!(proxy.is_some(), "the rest is written");
    let _ = std::fs::remove_file(&file);
}

#[test]
fn an_invalid_export_is_refused_whole() {
    let target = RedisServer::start();
    let file = std::env::temp_dir().join(format!("gwstore-bad-{}", std::process::id()));
    std::fs::write(
        &file,
        concat!(
            "{\"format\":\"gwstore-export\",\"version\":1,\"secrets\":false}\n",
            "{\"family\":\"route\",\"id\":\"ok\",\"record\":{\"route_id\":\"ok\",\"path_pattern\":\"/ok\",\"target_type\":\"url\",\"target_value\":\"http://a:1\",\"priority\":1}}\n",
            "{\"family\":\"proxy\",\"id\":\"a/b\",\"record\":{\"proxy_hostname\":\"a/b\",\"target_url\":\"http://b:1\"}}\n",
        ),
    )
    .unwrap();
    let refused = run(&target, &["import", &file.display().to_string(), "--apply"]);
    assert_eq!(refused.code, 2);
    assert!(refused.stderr.contains("line 3"), "{}", refused.stderr);
    assert!(
        dump(&target).is_empty(),
        "one bad line and nothing is written"
    );
    let _ = std::fs::remove_file(&file);
}

#[test]
fn on_a_cluster_doctor_visits_every_master_and_finds_the_unprefixed_layout() {
    let cluster = test_harness::RedisCluster::start(3, 0);
    let hosts: Vec<String> = cluster
        .nodes()
        .iter()
        .map(|node| format!("127.0.0.1:{}", node.port()))
        .collect();
    let url = format!("redis+cluster://{}", hosts.join(","));
    let doctor = |args: &[&str]| {
        let output = Command::cargo_bin("gwstore")
            .unwrap()
            .env("REDIS_URL", &url)
            .args(["--prefix", "{gw}:"])
            .args(args)
            .output()
            .unwrap();
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        )
    };
    // Seeded through the cluster, the store is healthy.
    let config = storage::StorageConfig::new(&url)
        .unwrap()
        .with_key_prefix("{gw}:");
    storage::blocking::Storage::connect(config).unwrap();
    let (code, stdout) = doctor(&["doctor"]);
    assert_eq!(code, 0, "{stdout}");

    // An old process writing the unprefixed layout: its keys spread over the masters.
    let mut writer = redis::cluster::ClusterClient::new(cluster.urls())
        .unwrap()
        .get_connection()
        .unwrap();
    for n in 0..30 {
        let _: () = redis::cmd("SET")
            .arg(format!("proxy:old-{n}.example"))
            .arg("{}")
            .query(&mut writer)
            .unwrap();
    }
    let (code, stdout) = doctor(&["doctor"]);
    assert_eq!(code, 1, "{stdout}");
    let reported: usize = stdout
        .lines()
        .filter(|line| line.contains("unprefixed layout"))
        .filter_map(|line| {
            line.split_whitespace()
                .find_map(|w| w.parse::<usize>().ok())
        })
        .sum();
    assert_eq!(reported, 30, "every master's share is found: {stdout}");
}

/// `import --overwrite` of a `localhost` without the OAuth exclusions writes it with them
/// merged in, and with the operator's own fields as the file has them.
#[test]
fn importing_a_bare_localhost_over_the_seeded_one_keeps_the_oauth_exclusions() {
    let target = RedisServer::start();
    storage::blocking::Storage::connect(target.url().as_str()).unwrap();
    let file = std::env::temp_dir().join(format!("gwstore-localhost-{}", std::process::id()));
    std::fs::write(
        &file,
        concat!(
            "{\"format\":\"gwstore-export\",\"version\":1,\"secrets\":false}\n",
            "{\"family\":\"proxy\",\"id\":\"localhost\",\"record\":{\"proxy_hostname\":\"localhost\",\"target_url\":\"http://operator:9999\",\"auth_excluded_paths\":[\"/operator-status\"]}}\n",
        ),
    )
    .unwrap();
    let path = file.display().to_string();
    let kept = run(&target, &["import", &path, "--apply"]);
    assert_eq!(kept.code, 1, "{}", kept.stdout);
    let replaced = run(&target, &["import", &path, "--apply", "--overwrite"]);
    assert_eq!(replaced.code, 0, "{}{}", replaced.stdout, replaced.stderr);
    let stored: String = redis::cmd("GET")
        .arg("proxy:localhost")
        .query(&mut target.raw())
        .unwrap();
    let stored: serde_json::Value = serde_json::from_str(&stored).unwrap();
    assert_eq!(stored["target_url"], "http://operator:9999");
    let excluded: Vec<&str> = stored["auth_excluded_paths"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|path| path.as_str())
        .collect();
    for path in ["/operator-status", "/token", "/authorize"] {
        assert!(excluded.contains(&path), "{path}: {excluded:?}");
    }
    let _ = std::fs::remove_file(&file);
}
