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

    // A backup taken through the cluster restores under another prefix to the same bytes.
    let dir = std::env::temp_dir().join(format!("gwstore-cluster-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let gwstore = |prefix: &str, args: &[&str]| {
        let output = Command::cargo_bin("gwstore")
            .unwrap()
            .env("REDIS_URL", &url)
            .args(args)
            .args(["--prefix", prefix])
            .output()
            .unwrap();
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let first = dir.join("first.backup").display().to_string();
    let second = dir.join("second.backup").display().to_string();
    let (code, stderr) = gwstore("{gw}:", &["backup", "-o", &first]);
    assert_eq!(code, 0, "{stderr}");
    let (code, stderr) = gwstore("{gx}:", &["restore", &first]);
    assert_eq!(code, 0, "{stderr}");
    let (code, stderr) = gwstore("{gx}:", &["backup", "-o", &second]);
    assert_eq!(code, 0, "{stderr}");
    let first_text = std::fs::read_to_string(&first).unwrap();
    assert!(first_text.contains("\"localhost\""), "{first_text}");
    assert_eq!(std::fs::read_to_string(&second).unwrap(), first_text);
    let (code, stderr) = gwstore("{gx}:", &["doctor"]);
    assert_eq!(code, 1, "only the unprefixed layout is found: {stderr}");
    let _ = std::fs::remove_dir_all(&dir);
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

/// Every string and key of `server` under the families a backup carries, with its value.
fn backed_up_keys(server: &RedisServer) -> BTreeMap<String, String> {
    let mut raw = server.raw();
    let mut found = BTreeMap::new();
    for pattern in [
        "proxy:*",
        "route:*",
        "cert:*",
        "auth:config:pattern:*",
        "oauth:client:*",
        "account:*",
        "challenge:*",
    ] {
        let keys: Vec<String> = redis::cmd("KEYS").arg(pattern).query(&mut raw).unwrap();
        for key in keys {
            let kind: String = redis::cmd("TYPE").arg(&key).query(&mut raw).unwrap();
            if kind == "string" {
                let value: String = redis::cmd("GET").arg(&key).query(&mut raw).unwrap();
                found.insert(key, value);
            }
        }
    }
    found
}

fn findings(doctor: &Run) -> Vec<String> {
    doctor
        .stdout
        .lines()
        .filter(|line| line.starts_with("finding"))
        .map(str::to_owned)
        .collect()
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
#[test]
fn a_backup_restores_exactly_into_an_empty_redis_and_backs_up_again_to_the_same_bytes() {
    let (source, _) = legacy_store();
    let storage = storage::blocking::Storage::new(
        storage::StorageConfig::new(&source.url())
            .unwrap()
            .without_seeding(),
    )
    .unwrap();
    let pem = storage::Secret::new("-----BEGIN EC PRIVATE KEY-----\nMHcaccount\n");
    storage
        .store_account_key("acme-v02_api_letsencrypt_org", "ops@example.org", &pem)
        .unwrap();
    // As an operator would first: the old layer's `localhost` lacks what OAuth needs, which
    // a restore would add (tested in the storage's own backup tests).
    run(&source, &["doctor", "--fix"]);
    let dir = std::env::temp_dir().join(format!("gwstore-backup-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("store.backup");
    let path = file.display().to_string();

    let backup = run(&source, &["backup", "--output", &path]);
    assert_eq!(
        backup.code, 1,
        "the corrupt proxy is named: {}",
        backup.stderr
    );
    assert!(
        backup.stderr.contains("proxy:broken.example.com"),
        "{}",
        backup.stderr
    );
    assert_eq!(mode(&file), 0o600, "a backup holds private keys");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("MIIEfake") && text.contains("MHcaccount"));

    let target = RedisServer::start();
    let restored = run(&target, &["restore", &path]);
    assert_eq!(restored.code, 0, "{}{}", restored.stdout, restored.stderr);
    let mut expected = backed_up_keys(&source);
    expected.remove("proxy:broken.example.com");
    assert_eq!(
        backed_up_keys(&target),
        expected,
        "every record, field for field"
    );
    let ttl: i64 = redis::cmd("PTTL")
        .arg("challenge:Jx7aQ")
        .query(&mut target.raw())
        .unwrap();
    assert!(ttl > 0, "the challenge keeps its expiry: {ttl}");

    let source_doctor = findings(&run(&source, &["doctor"]));
    for finding in findings(&run(&target, &["doctor"])) {
        assert!(
            source_doctor.contains(&finding),
            "new after restore: {finding}"
        );
    }
    let again = dir.join("again.backup");
    let second = run(
        &target,
        &["backup", "--output", &again.display().to_string()],
    );
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(std::fs::read(&again).unwrap(), text.as_bytes());

    // Into a store with records: the plan first, and with nothing differing, nothing to do.
    let plan = run(&target, &["restore", &path]);
    assert_eq!(plan.code, 0, "{}", plan.stdout);
    assert!(plan.stdout.contains("nothing written"), "{}", plan.stdout);
    let _: () = redis::cmd("SET")
        .arg("proxy:api.example.com")
        .arg(r#"{"proxy_hostname":"api.example.com","target_url":"http://changed:1"}"#)
        .query(&mut target.raw())
        .unwrap();
    let differs = run(&target, &["restore", &path, "--apply"]);
    assert_eq!(differs.code, 1, "{}", differs.stdout);
    assert!(
        differs.stdout.contains("differs proxy api.example.com"),
        "{}",
        differs.stdout
    );
    let overwrite = run(&target, &["restore", &path, "--apply", "--overwrite"]);
    assert_eq!(overwrite.code, 0, "{}", overwrite.stdout);
    let back: String = redis::cmd("GET")
        .arg("proxy:api.example.com")
        .query(&mut target.raw())
        .unwrap();
    assert_eq!(Some(&back), expected.get("proxy:api.example.com"));

    // An export is not a backup, and a broken line refuses the whole file.
    let export = run(&source, &["export"]);
    let export_file = dir.join("config.jsonl");
    std::fs::write(&export_file, &export.stdout).unwrap();
    let wrong = run(&target, &["restore", &export_file.display().to_string()]);
    assert_eq!(wrong.code, 2);
    assert!(wrong.stderr.contains("gwstore import"), "{}", wrong.stderr);
    let broken = dir.join("broken.backup");
    std::fs::write(
        &broken,
        format!(
            "{}{{\"family\":\"route\",\"id\":\"x\",\"value\":\"{{}}\"}}\n",
            text
        ),
    )
    .unwrap();
    let empty = RedisServer::start();
    let refused = run(&empty, &["restore", &broken.display().to_string()]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("route:x"), "{}", refused.stderr);
    assert!(dump(&empty).is_empty(), "nothing restored");
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(unix)]
#[test]
fn a_secret_export_is_readable_by_its_owner_alone() {
    let (server, _) = legacy_store();
    let file = std::env::temp_dir().join(format!("gwstore-secrets-{}", std::process::id()));
    std::fs::write(&file, "was world-readable").unwrap();
    let path = file.display().to_string();
    let export = run(&server, &["export", "--include-secrets", "--output", &path]);
    assert_eq!(export.code, 1, "{}", export.stderr);
    assert_eq!(mode(&file), 0o600);
    assert!(std::fs::read_to_string(&file).unwrap().contains("MIIEfake"));
    let _ = std::fs::remove_file(&file);
}

#[test]
fn the_password_never_shows_and_has_places_of_its_own() {
    let server = RedisServer::start_with(test_harness::ServerOptions::new().password("pw-7f3a9"));
    let plain = server.url();
    let with_password = server.url_with_password();
    let gwstore = || {
        let mut command = Command::cargo_bin("gwstore").unwrap();
        command
            .env_remove("REDIS_URL")
            .env_remove("GWSTORE_PASSWORD");
        command
    };
    let text = |output: std::process::Output| {
        (
            output.status.code().unwrap_or(-1),
            format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        )
    };
    for args in [
        &["--help"][..],
        &["-h"],
        &["doctor", "--help"],
        &["backup", "--help"],
        &["migrate", "status", "--help"],
    ] {
        let (_, shown) = text(
            gwstore()
                .env("REDIS_URL", &with_password)
                .args(args)
                .output()
                .unwrap(),
        );
        assert!(!shown.contains("pw-7f3a9"), "{args:?}: {shown}");
        assert!(shown.contains("Usage"), "{args:?}: {shown}");
    }

    // The URL's own, a file, the environment: each reaches Redis, none is printed.
    let (code, shown) = text(
        gwstore()
            .env("REDIS_URL", &with_password)
            .arg("doctor")
            .output()
            .unwrap(),
    );
    assert_ne!(code, 2, "{shown}");
    assert!(
        !shown.contains("pw-7f3a9") && shown.contains("***"),
        "{shown}"
    );
    let file = std::env::temp_dir().join(format!("gwstore-password-{}", std::process::id()));
    std::fs::write(&file, "pw-7f3a9\n").unwrap();
    let (code, shown) = text(
        gwstore()
            .args([
                "--url",
                &plain,
                "--password-file",
                &file.display().to_string(),
                "doctor",
            ])
            .output()
            .unwrap(),
    );
    assert_ne!(code, 2, "{shown}");
    assert!(!shown.contains("pw-7f3a9"), "{shown}");
    let (code, shown) = text(
        gwstore()
            .env("GWSTORE_PASSWORD", "pw-7f3a9")
            .args(["doctor", "--url", &plain])
            .output()
            .unwrap(),
    );
    assert_ne!(code, 2, "{shown}");

    // A wrong one: said to be refused, nothing about reaching Redis.
    let (code, shown) = text(
        gwstore()
            .env("GWSTORE_PASSWORD", "not-it")
            .args(["doctor", "--url", &plain])
            .output()
            .unwrap(),
    );
    assert_eq!(code, 2, "{shown}");
    assert!(shown.contains("refused the credentials"), "{shown}");
    assert!(
        !shown.contains("that Redis runs") && !shown.contains("not-it"),
        "{shown}"
    );
    let _ = std::fs::remove_file(&file);
}

#[test]
fn after_finish_a_late_old_layer_write_is_named_everywhere_and_rollback_brings_it_back() {
    let (server, _) = legacy_store();
    let _: () = redis::cmd("DEL")
        .arg("proxy:broken.example.com")
        .query(&mut server.raw())
        .unwrap();
    assert_eq!(run(&server, &["migrate", "finish", "--yes"]).code, 0);
    let _: () = redis::cmd("SET")
        .arg("proxy:late.example.org")
        .arg(r#"{"proxy_hostname":"late.example.org","target_url":"http://late:1"}"#)
        .query(&mut server.raw())
        .unwrap();

    let inspect = run(&server, &["inspect", "proxies"]);
    assert!(
        !inspect.stdout.contains("late.example.org"),
        "finished: {}",
        inspect.stdout
    );
    let doctor = run(&server, &["doctor"]);
    assert_eq!(doctor.code, 1);
    assert!(
        doctor
            .stdout
            .contains("`proxy:late.example.org` is missing from its index set"),
        "{}",
        doctor.stdout
    );
    assert!(doctor.stdout.contains("rollback"), "{}", doctor.stdout);
    let status = run(&server, &["migrate", "status"]);
    assert_eq!(status.code, 1, "{}", status.stdout);
    assert!(
        status.stdout.contains("proxy:late.example.org"),
        "{}",
        status.stdout
    );
    let json = run(&server, &["migrate", "status", "--json"]);
    assert_eq!(json.code, 1);
    let json: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(json["phase"], "finished");
    assert_eq!(json["unindexed_keys"][0], "proxy:late.example.org");
    let export = run(&server, &["export"]);
    assert_eq!(export.code, 1, "{}", export.stderr);
    assert!(
        export.stderr.contains("proxy:late.example.org"),
        "{}",
        export.stderr
    );

    let refused = run(&server, &["migrate", "rollback"]);
    assert_eq!(refused.code, 2, "no terminal to ask, no --yes");
    let rolled = run(&server, &["migrate", "rollback", "--yes"]);
    assert_eq!(rolled.code, 0, "{}{}", rolled.stdout, rolled.stderr);
    assert!(rolled.stdout.contains("phase: mixed"), "{}", rolled.stdout);
    let _: () = redis::cmd("SET")
        .arg("proxy:later.example.org")
        .arg(r#"{"proxy_hostname":"later.example.org","target_url":"http://late:2"}"#)
        .query(&mut server.raw())
        .unwrap();
    let inspect = run(&server, &["inspect", "proxies"]);
    for host in ["late.example.org", "later.example.org"] {
        assert!(inspect.stdout.contains(host), "{host}: {}", inspect.stdout);
    }
    assert_eq!(
        run(&server, &["migrate", "status"]).code,
        0,
        "mixed: nothing is hidden"
    );
}

#[test]
fn messages_say_which_redis_what_went_wrong_and_what_to_do() {
    let (server, _) = legacy_store();
    // Which Redis, also with the flag after the subcommand.
    let mut command = Command::cargo_bin("gwstore").unwrap();
    let output = command
        .env_remove("REDIS_URL")
        .args(["doctor", "--url", &server.url()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("Redis {}", server.url().trim_end_matches('/')))
            || stderr.contains(&format!("Redis {}", server.url())),
        "{stderr}"
    );
    assert_ne!(output.status.code(), Some(2), "{stderr}");
    let defaulted = Command::cargo_bin("gwstore")
        .unwrap()
        .env_remove("REDIS_URL")
        .args(["--url", "redis://127.0.0.1:1", "migrate", "status"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&defaulted.stderr).contains("127.0.0.1:1 (--url)"));

    // Dates as dates, plurals right, no Rust in the text.
    let doctor = run(&server, &["doctor"]);
    assert!(
        doctor.stdout.contains("expired on 2025-11-18 09:00:00 UTC"),
        "{}",
        doctor.stdout
    );
    for wrong in ["Some(", "None", "1 proxies", "(s)"] {
        assert!(!doctor.stdout.contains(wrong), "{wrong}: {}", doctor.stdout);
    }
    let json = run(&server, &["doctor", "--json"]);
    assert_eq!(json.code, 1);
    let json: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(json["healthy"], false);
    assert!(json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["fix"] == "re-index"));

    // An expired certificate says so.
    let certs = run(&server, &["inspect", "certs"]);
    assert!(
        certs.stdout.contains("expired (active)"),
        "{}",
        certs.stdout
    );
    let certs = run(&server, &["inspect", "certs", "--json"]);
    let certs: serde_json::Value = serde_json::from_str(&certs.stdout).unwrap();
    assert_eq!(certs["records"][0]["expired"], true);

    // A wrong-typed index: the hint says what to do.
    let _: () = redis::cmd("DEL")
        .arg("index:proxies")
        .query(&mut server.raw())
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg("index:proxies")
        .arg("oops")
        .query(&mut server.raw())
        .unwrap();
    let broken = run(&server, &["doctor", "--fix"]);
    assert_eq!(broken.code, 2);
    assert!(
        broken.stderr.contains("redis-cli DEL index:proxies")
            && broken.stderr.contains("doctor --fix"),
        "{}",
        broken.stderr
    );

    // A cluster URL without the prefix names --prefix.
    let output = Command::cargo_bin("gwstore")
        .unwrap()
        .env_remove("REDIS_URL")
        .args(["doctor", "--url", "redis+cluster://127.0.0.1:1,127.0.0.1:2"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("--prefix"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn get_set_and_delete_one_record_through_the_library() {
    let (server, _) = legacy_store();
    let get = run(&server, &["get", "proxy", "api.example.com"]);
    assert_eq!(get.code, 0, "{}", get.stderr);
    assert!(get.stdout.contains("target_url") && get.stdout.contains("http://backend:8080"));
    assert!(
        !get.stdout.contains("s3cr3t"),
        "a secret shown: {}",
        get.stdout
    );
    let json = run(&server, &["get", "certs", "example-cert", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert!(json["private_key_pem"]["bytes"].as_u64().unwrap() > 0);
    let missing = run(&server, &["get", "route", "nope"]);
    assert_eq!(missing.code, 1);
    assert!(
        missing.stderr.contains("no route `nope`"),
        "{}",
        missing.stderr
    );

    // Written through the scripts: indexed and in the change feed.
    let revision = |server: &RedisServer| -> u64 {
        redis::cmd("GET")
            .arg("meta:revision")
            .query::<Option<u64>>(&mut server.raw())
            .unwrap()
            .unwrap_or(0)
    };
    let before = revision(&server);
    let record = r#"{"route_id":"ops","path_pattern":"/ops","target_type":"url","target_value":"http://ops:1","priority":33}"#;
    let set = gwstore(&server)
        .args(["set", "route"])
        .write_stdin(record)
        .output()
        .unwrap();
    assert_eq!(
        set.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    let indexed: bool = redis::cmd("SISMEMBER")
        .arg("index:routes")
        .arg("ops")
        .query(&mut server.raw())
        .unwrap();
    assert!(indexed);
    assert!(revision(&server) > before, "the change is in the feed");

    // An invalid record exits 2 and writes nothing.
    let keys_before = dump(&server);
    let invalid = gwstore(&server)
        .args(["set", "route"])
        .write_stdin(r#"{"route_id":"bad","path_pattern":"/bad","target_type":"url","target_value":"http://b:1","priority":99999}"#)
        .output()
        .unwrap();
    assert_eq!(invalid.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&invalid.stderr).contains("priority"));
    let garbage = gwstore(&server)
        .args(["set", "proxy"])
        .write_stdin("{\"proxy_hostname\": \"x.example\", \"target_url\": 5}")
        .output()
        .unwrap();
    assert_eq!(garbage.status.code(), Some(2));
    assert_eq!(dump(&server), keys_before, "a refused set wrote");

    let refused = run(&server, &["delete", "route", "ops"]);
    assert_eq!(refused.code, 2, "no terminal to ask, no --yes");
    let deleted = run(&server, &["delete", "route", "ops", "--yes"]);
    assert_eq!(deleted.code, 0, "{}", deleted.stderr);
    let localhost = run(&server, &["delete", "proxy", "localhost", "--yes"]);
    assert_eq!(
        localhost.code, 2,
        "the default proxy stays: {}",
        localhost.stderr
    );
}

#[test]
fn watch_tails_the_feed_and_diff_names_each_field() {
    let (server, _) = legacy_store();
    run(&server, &["doctor", "--fix"]);
    let mut watcher = std::process::Command::new(assert_cmd::cargo::cargo_bin("gwstore"))
        .env("REDIS_URL", server.url())
        .args(["watch", "--json", "--count", "2"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    for id in ["w1", "w2"] {
        let record = format!(
            r#"{{"route_id":"{id}","path_pattern":"/{id}","target_type":"url","target_value":"http://w:1","priority":20}}"#
        );
        let set = gwstore(&server)
            .args(["set", "route"])
            .write_stdin(record)
            .output()
            .unwrap();
        assert_eq!(set.status.code(), Some(0));
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while watcher.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            watcher.kill().unwrap();
            panic!("watch --count 2 did not end after two changes");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let output = watcher.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let ids: Vec<&str> = lines.iter().filter_map(|l| l["id"].as_str()).collect();
    assert_eq!(ids, ["w1", "w2"], "{lines:?}");
    assert!(lines
        .iter()
        .all(|l| l["family"] == "route" && l["op"] == "put"));

    let dir = std::env::temp_dir().join(format!("gwstore-diff-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("before.backup").display().to_string();
    assert_eq!(
        run(&server, &["backup", "-o", &file]).code,
        1,
        "the corrupt proxy is named"
    );
    let same = run(&server, &["diff", &file]);
    assert_eq!(same.code, 0, "{}", same.stdout);
    let _: () = redis::cmd("SET")
        .arg("route:w1")
        .arg(r#"{"route_id":"w1","path_pattern":"/w1","target_type":"url","target_value":"http://changed:2","priority":20}"#)
        .query(&mut server.raw())
        .unwrap();
    let changed = run(&server, &["diff", &file]);
    assert_eq!(changed.code, 1);
    assert!(changed.stdout.contains("route w1"), "{}", changed.stdout);
    assert!(
        changed
            .stdout
            .contains("target_value: \"http://w:1\" → \"http://changed:2\""),
        "{}",
        changed.stdout
    );
    let after = dir.join("after.backup").display().to_string();
    run(&server, &["backup", "-o", &after]);
    let files = Command::cargo_bin("gwstore")
        .unwrap()
        .env_remove("REDIS_URL")
        .args(["--url", "redis://127.0.0.1:1", "diff", &file, &after])
        .output()
        .unwrap();
    assert_eq!(files.status.code(), Some(1), "two files need no Redis");
    assert!(String::from_utf8_lossy(&files.stdout).contains("route w1"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn inspect_shows_challenges_accounts_locks_and_meta() {
    let (server, _) = legacy_store();
    let challenges = run(&server, &["inspect", "challenges"]);
    assert_eq!(challenges.code, 0);
    assert!(challenges.stdout.contains("Jx7aQ"), "{}", challenges.stdout);
    let accounts = run(&server, &["inspect", "accounts"]);
    assert!(
        accounts.stdout.contains("admin@example.com"),
        "{}",
        accounts.stdout
    );
    assert!(!accounts.stdout.contains("MHcfake"), "{}", accounts.stdout);
    let storage = storage::blocking::Storage::connect(server.url().as_str()).unwrap();
    let _held = storage
        .acquire_lock("renew-example.com", std::time::Duration::from_secs(60))
        .unwrap();
    let locks = run(&server, &["inspect", "locks", "--json"]);
    let locks: serde_json::Value = serde_json::from_str(&locks.stdout).unwrap();
    assert_eq!(locks["records"][0]["lock"], "renew-example.com", "{locks}");
    let meta = run(&server, &["inspect", "meta"]);
    assert!(
        meta.stdout.contains("migration phase") && meta.stdout.contains("mixed"),
        "{}",
        meta.stdout
    );
}

#[test]
fn every_subcommand_takes_the_global_flags_and_completions_and_a_man_page_exist() {
    let mut help = Command::cargo_bin("gwstore").unwrap();
    let help = help.args(["backup", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for flag in ["--url", "--prefix", "--password-file"] {
        assert!(help.contains(flag), "{flag}: {help}");
    }
    for shell in ["bash", "zsh", "fish"] {
        let output = Command::cargo_bin("gwstore")
            .unwrap()
            .args(["completions", shell])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0));
        assert!(
            String::from_utf8_lossy(&output.stdout).contains("restore"),
            "{shell}"
        );
    }
    let man = Command::cargo_bin("gwstore")
        .unwrap()
        .arg("man")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&man.stdout).contains(".TH gwstore"));
    let unknown = Command::cargo_bin("gwstore")
        .unwrap()
        .args(["doctor", "--nope"])
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(2));
}

/// Colour on a terminal, none under `NO_COLOR` or `TERM=dumb`; `script` gives the terminal.
#[cfg(target_os = "linux")]
#[test]
fn colour_only_on_a_terminal_that_wants_it() {
    let server = RedisServer::start();
    let binary = assert_cmd::cargo::cargo_bin("gwstore");
    let on_terminal = |env: &[(&str, &str)]| {
        let command = format!("{} --url {} migrate status", binary.display(), server.url());
        let mut script = std::process::Command::new("script");
        script
            .args(["-qec", &command, "/dev/null"])
            .env("TERM", "xterm")
            .env_remove("NO_COLOR");
        for (name, value) in env {
            script.env(name, value);
        }
        String::from_utf8_lossy(&script.output().unwrap().stdout).into_owned()
    };
    assert!(
        on_terminal(&[]).contains("\u{1b}["),
        "a terminal gets colour"
    );
    assert!(!on_terminal(&[("NO_COLOR", "1")]).contains("\u{1b}["));
    assert!(!on_terminal(&[("TERM", "dumb")]).contains("\u{1b}["));
}

#[test]
fn history_shows_who_changed_what_and_rollback_plans_asks_and_restores() {
    let server = RedisServer::start();
    let config = storage::StorageConfig::new(&server.url())
        .unwrap()
        .with_actor("deployer@ci-7");
    let store = storage::blocking::Storage::new(config).unwrap();
    let mut proxy = storage::ProxyTarget::new("api.example.com", "http://good:1");
    proxy.github_client_secret = Some(storage::Secret::new("hunter2-secret"));
    store.store_proxy_target(proxy).unwrap();
    let (good, _) = store.history_bounds().unwrap();
    store
        .update_proxy_target("api.example.com", |p| {
            p.target_url = "http://broken:1".into();
            p.github_client_secret = Some(storage::Secret::new("swordfish-secret"));
        })
        .unwrap();
    store
        .store_route(storage::Route::to_url("ops", "/ops", 33, "http://ops:1"))
        .unwrap();
    let (bad, _) = store.history_bounds().unwrap();

    let history = run(&server, &["history", "proxies", "api.example.com"]);
    assert_eq!(history.code, 0, "{}", history.stderr);
    assert!(
        history.stdout.contains("by deployer@ci-7"),
        "{}",
        history.stdout
    );
    assert!(
        history
            .stdout
            .contains(r#"target_url: "http://good:1" → "http://broken:1""#),
        "{}",
        history.stdout
    );
    assert!(history
        .stdout
        .contains("github_client_secret: changed (a secret: not shown)"));
    let json = run(&server, &["history", "--json", "--since", "1h"]);
    assert_eq!(json.code, 0, "{}", json.stderr);
    let lines: Vec<serde_json::Value> = json
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert!(lines
        .iter()
        .any(|l| l["family"] == "route" && l["id"] == "ops"));
    for output in [&history.stdout, &json.stdout] {
        assert!(
            !output.contains("hunter2") && !output.contains("swordfish"),
            "a secret shown"
        );
    }
    let clients = run(&server, &["history", "clients"]);
    assert_eq!(clients.code, 2, "{}", clients.stderr);

    let diff = run(&server, &["diff", "--revision", &format!("{good}..{bad}")]);
    assert_eq!(diff.code, 1, "{}", diff.stderr);
    assert!(
        diff.stdout.contains("update proxy api.example.com"),
        "{}",
        diff.stdout
    );
    assert!(diff.stdout.contains("create route ops"), "{}", diff.stdout);
    let same = run(&server, &["diff", "--revision", &format!("{bad}..{bad}")]);
    assert_eq!(same.code, 0, "{}", same.stdout);

    // The plan, then a refusal without a terminal or --yes: nothing written.
    let keys_before = dump(&server);
    let asked = run(&server, &["rollback", "--to", &good.to_string()]);
    assert_eq!(asked.code, 2, "{}", asked.stderr);
    assert!(
        asked.stdout.contains("~ update proxy api.example.com"),
        "{}",
        asked.stdout
    );
    assert!(
        asked.stdout.contains("- delete route ops"),
        "{}",
        asked.stdout
    );
    assert!(asked.stderr.contains("--yes"), "{}", asked.stderr);
    assert_eq!(dump(&server), keys_before, "a refused rollback wrote");

    let ahead = run(
        &server,
        &["rollback", "--to", &(bad + 10).to_string(), "--yes"],
    );
    assert_eq!(ahead.code, 2, "{}", ahead.stdout);
    let one = run(
        &server,
        &[
            "rollback",
            "--to",
            &good.to_string(),
            "routes",
            "ops",
            "--yes",
        ],
    );
    assert_eq!(one.code, 0, "{}", one.stderr);
    assert!(store.get_route("ops").unwrap().is_none());
    assert_eq!(
        store
            .get_proxy_target("api.example.com")
            .unwrap()
            .unwrap()
            .target_url,
        "http://broken:1",
        "out of scope"
    );
    let all = run(&server, &["rollback", "--to", &good.to_string(), "--yes"]);
    assert_eq!(all.code, 0, "{}", all.stderr);
    let restored = store.get_proxy_target("api.example.com").unwrap().unwrap();
    assert_eq!(restored.target_url, "http://good:1");
    assert_eq!(
        restored.github_client_secret.unwrap().expose(),
        "hunter2-secret"
    );
    let history = run(&server, &["history", "proxies", "api.example.com"]);
    assert!(
        history.stdout.contains(&format!("(rollback to {good})")),
        "{}",
        history.stdout
    );

    // Past the retention: refused with the oldest revision there is, nothing written.
    let short = storage::StorageConfig::new(&server.url())
        .unwrap()
        .with_history_retention(10, std::time::Duration::from_secs(3600));
    let short = storage::blocking::Storage::new(short).unwrap();
    for round in 0..150 {
        short
            .store_proxy_target(storage::ProxyTarget::new(
                "n.example",
                format!("http://n:{round}"),
            ))
            .unwrap();
    }
    let (_, oldest) = short.history_bounds().unwrap();
    let keys_before = dump(&server);
    let past = run(&server, &["rollback", "--to", &good.to_string(), "--yes"]);
    assert_eq!(past.code, 2, "{}", past.stdout);
    assert!(
        past.stderr.contains(&format!("the oldest is {oldest}")),
        "{}",
        past.stderr
    );
    assert_eq!(dump(&server), keys_before, "a refused rollback wrote");
}
