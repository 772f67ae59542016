//! `cargo xtask` as a person runs it: help, refused flags, a missing server binary, and a
//! reader that goes away early.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn xtask() -> Command {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
}

#[test]
fn help_prints_usage_and_runs_nothing() {
    let output = xtask().args(["demo", "--help"]).output().unwrap();
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("Usage: cargo xtask demo"), "{text}");
    assert!(text.contains("--load-fixtures"), "{text}");
    assert!(!text.contains("started a"), "the demo ran: {text}");
}

#[test]
fn an_unknown_flag_or_task_is_refused_with_exit_2() {
    for args in [
        &["demo", "--bogus"][..],
        &["bench", "--fast"],
        &["frobnicate"],
        &[],
    ] {
        let output = xtask().args(args).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
        assert!(
            String::from_utf8_lossy(&output.stderr).contains("Usage"),
            "{args:?}: {output:?}"
        );
    }
}

#[test]
fn a_missing_redis_server_binary_fails_at_once_and_names_it() {
    let started = Instant::now();
    let output = xtask()
        .arg("demo")
        .env("REDIS_SERVER", "/nonexistent/redis-server")
        .env_remove("REDIS_URL")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("/nonexistent/redis-server"), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

/// `cargo xtask demo | head -1`: no panic, exit 0, and the throwaway server is gone.
#[test]
fn a_reader_that_goes_away_stops_the_demo_and_its_server() {
    let mut child = xtask()
        .arg("demo")
        .env_remove("REDIS_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader is dropped here, as `head -1` exits after its line.
    let url = first
        .trim()
        .strip_prefix("started a throwaway redis-server at ")
        .unwrap_or_else(|| panic!("first line: {first:?}"))
        .to_owned();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{:?}: {stderr}", output.status);
    assert!(!stderr.contains("panicked"), "{stderr}");
    let address = url.trim_start_matches("redis://").trim_end_matches('/');
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::net::TcpStream::connect(address).is_ok() {
        assert!(Instant::now() < deadline, "{address} still answers");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `cargo xtask demo --metrics`: the demo's work, then a Prometheus text page with what it
/// did, in both modes, and no label carrying a record's content.
#[test]
fn the_demo_prints_a_prometheus_scrape_of_its_work() {
    let output = xtask()
        .args(["demo", "--metrics"])
        .env_remove("REDIS_URL")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    let page = stdout
        .split_once("== metrics")
        .map(|(_, page)| page)
        .unwrap_or_else(|| panic!("no metrics page: {stdout}"));
    for mode in ["blocking", "async"] {
        let count = format!(
            "db_client_operation_duration_count{{db_system_name=\"redis\",\
             db_operation_name=\"get_proxy_target\",mode=\"{mode}\",outcome=\"ok\"}} "
        );
        assert!(page.contains(&count), "{mode}: {page}");
    }
    assert!(
        page.contains("# TYPE gateway_storage_defaults_reseeded counter"),
        "{page}"
    );
    assert!(
        page.contains("gateway_storage_corrupt_records{family=\"proxy\"}"),
        "{page}"
    );
    assert!(page.contains("db_client_connection_count{db_client_connection_state=\"idle\"}"));
    assert!(
        !page.contains("example.com"),
        "a label carries a hostname: {page}"
    );
}
