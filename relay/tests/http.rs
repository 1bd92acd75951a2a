//! The HTTP side as browsers and operators see it: files, content types, the app-route
//! fallback, the health probe, and a clean stop.
#![allow(clippy::unwrap_used)]

mod common;

use common::{http_get, write_fake_dist};
use quire_relay::{Config, Server};

async fn start() -> (Server, tempfile::TempDir, tempfile::TempDir) {
    let dist = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    write_fake_dist(dist.path());
    let config = Config::for_tests(dist.path().to_owned(), data.path().to_owned());
    let server = Server::spawn(config).await.unwrap();
    (server, dist, data)
}

#[tokio::test]
async fn serves_files_with_the_content_types_browsers_require() {
    let (server, _dist, _data) = start().await;
    let addr = server.local_addr();
    let cases = [
        ("/", "text/html"),
        ("/index.html", "text/html"),
        ("/quire-app-0123.wasm", "application/wasm"),
        ("/quire-app-0123.js", "text/javascript"),
        ("/style.css", "text/css"),
    ];
    for (path, expected) in cases {
        let response = http_get(addr, path).await;
        assert_eq!(response.status, 200, "{path}");
        let content_type = response.header("content-type").unwrap();
        assert!(content_type.starts_with(expected), "{path}: {content_type}");
        assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
    }
    let wasm = http_get(addr, "/quire-app-0123.wasm").await;
    assert_eq!(wasm.body, b"\0asm\x01\0\0\0");
    server.shutdown().await;
}

#[tokio::test]
async fn app_routes_fall_back_to_the_shell_but_missing_assets_are_404() {
    let (server, _dist, _data) = start().await;
    let addr = server.local_addr();
    for route in ["/rooms", "/rooms/abc/settings", "/join/"] {
        let response = http_get(addr, route).await;
        assert_eq!(response.status, 200, "{route}");
        assert!(response.text().contains("<title>Quire</title>"), "{route}");
        assert!(
            response
                .header("content-type")
                .unwrap()
                .starts_with("text/html")
        );
    }
    for asset in ["/quire-app-ffff.wasm", "/missing.js", "/nested/missing.css"] {
        let response = http_get(addr, asset).await;
        assert_eq!(response.status, 404, "{asset}");
        assert!(!response.text().contains("<title>"), "{asset}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn healthz_answers_ok() {
    let (server, _dist, _data) = start().await;
    let response = http_get(server.local_addr(), "/healthz").await;
    assert_eq!(response.status, 200);
    assert_eq!(response.text(), "ok");
    server.shutdown().await;
}

#[tokio::test]
async fn shutdown_stops_accepting_connections() {
    let (server, _dist, _data) = start().await;
    let addr = server.local_addr();
    assert_eq!(http_get(addr, "/healthz").await.status, 200);
    server.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
