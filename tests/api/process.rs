//! The real binary as an OS process: startup, SIGTERM, SIGINT.

use std::time::{Duration, Instant};

use crate::helpers::{ChildServer, TestResult};

#[test]
fn sigterm_exits_zero_within_the_grace_period() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut server = ChildServer::spawn(dir.path(), &["--shutdown-grace", "5s"]);
    let body = reqwest::blocking_get(&server.url("/up"))?;
    assert!(body.contains("\"ok\""), "{body}");
    let start = Instant::now();
    server.signal("TERM");
    let status = server
        .wait_exit(Duration::from_secs(10))
        .expect("exited within the grace period");
    assert!(status.success(), "exit status {status:?}");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "took {:?}",
        start.elapsed()
    );
    let log = server.log.lock().expect("log").join("\n");
    assert!(log.contains("shutting down"), "{log}");
    assert!(!log.contains("panicked"), "{log}");
    Ok(())
}

#[test]
fn sigint_exits_zero() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut server = ChildServer::spawn(dir.path(), &[]);
    server.signal("INT");
    let status = server.wait_exit(Duration::from_secs(15)).expect("exited");
    assert!(status.success(), "exit status {status:?}");
    Ok(())
}

/// Tiny blocking GET over a raw socket, so these tests need no extra runtime.
mod reqwest {
    use std::io::{Read, Write};

    pub fn blocking_get(url: &str) -> std::io::Result<String> {
        let rest = url.trim_start_matches("http://");
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        let mut s = std::net::TcpStream::connect(host)?;
        write!(
            s,
            "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        )?;
        let mut out = String::new();
        s.read_to_string(&mut out)?;
        Ok(out)
    }
}

#[test]
fn an_invalid_log_filter_is_a_startup_error_in_one_line() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (status, _, stderr) =
        crate::helpers::run_cli(dir.path(), &["--log", "trifecta=loudest", "migrate"]);
    assert!(!status.success(), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].starts_with("error: --log \"trifecta=loudest\" is not a valid log filter"));
    assert_eq!(
        std::fs::read_dir(dir.path())?.count(),
        0,
        "nothing was created"
    );
    // A valid one still works.
    let (status, _, stderr) = crate::helpers::run_cli(dir.path(), &["--log", "warn", "migrate"]);
    assert!(status.success(), "{stderr}");
    Ok(())
}
