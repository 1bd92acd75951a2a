//! The `quire-relay` binary as scripts drive it: flags, the single ready line on stdout, and a
//! clean exit on SIGTERM and SIGINT.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

fn run_until_signal(signal: &str) {
    let dist = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    common::write_fake_dist(dist.path());
    let mut child = Command::new(env!("CARGO_BIN_EXE_quire-relay"))
        .args(["--listen", "127.0.0.1:0", "--log-level", "warn"])
        .args([
            "--ws-listen",
            "127.0.0.1:0",
            "--webrtc-listen",
            "127.0.0.1:0",
        ])
        .args(["--public-addr", "/dns4/quire.example.org/tcp/443/wss"])
        .env("QUIRE_MAX_CONNECTIONS", "100")
        .arg("--dist")
        .arg(dist.path())
        .env("QUIRE_DATA_DIR", data.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let url = line
        .strip_prefix("Quire is running at http://")
        .and_then(|rest| rest.strip_suffix("/\n"))
        .unwrap_or_else(|| panic!("unexpected ready line {line:?}"));
    let addr: SocketAddr = url.parse().unwrap();
    assert_ne!(addr.port(), 0);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let health = runtime.block_on(common::http_get(addr, "/healthz"));
    assert_eq!(health.text(), "ok");
    let relay = runtime
        .block_on(common::http_get(addr, "/relay.json"))
        .text();
    assert!(
        relay.contains("\"/dns4/quire.example.org/tcp/443/wss/p2p/12D3Koo"),
        "the public address is what browsers are told to dial: {relay}"
    );

    let status = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "relay ignored SIG{signal}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(exit.success(), "exit after SIG{signal}: {exit}");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert_eq!(rest, "", "stdout must carry only the ready line");
}

#[test]
fn prints_the_ready_line_and_stops_cleanly_on_sigterm() {
    run_until_signal("TERM");
}

#[test]
fn stops_cleanly_on_sigint() {
    run_until_signal("INT");
}
