//! The HTTP side as browsers and operators see it: files, content types, the app-route
//! fallback, caching, compression, security headers, the health probe, and a clean stop.
#![allow(clippy::unwrap_used)]

mod common;

use common::{CSS, HttpResponse, JS, WASM, http_get, http_get_with, write_fake_dist};
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
        (WASM, "application/wasm"),
        (JS, "text/javascript"),
        (CSS, "text/css"),
    ];
    for (path, expected) in cases {
        let response = http_get(addr, path).await;
        assert_eq!(response.status, 200, "{path}");
        let content_type = response.header("content-type").unwrap();
        assert!(content_type.starts_with(expected), "{path}: {content_type}");
        assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
    }
    let wasm = http_get(addr, WASM).await;
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
    for asset in [
        "/quire-app-ffffffffffffffff_bg.wasm",
        "/missing.js",
        "/nested/missing.css",
    ] {
        let response = http_get(addr, asset).await;
        assert_eq!(response.status, 404, "{asset}");
        assert!(!response.text().contains("<title>"), "{asset}");
        // A hashed name that is missing now may exist after the next deployment.
        assert_eq!(
            response.header("cache-control"),
            Some("no-cache"),
            "{asset}"
        );
    }
    server.shutdown().await;
}

#[tokio::test]
async fn hashed_assets_are_immutable_and_the_shell_is_revalidated() {
    let (server, _dist, _data) = start().await;
    let addr = server.local_addr();
    for path in [WASM, JS, CSS] {
        let response = http_get(addr, path).await;
        assert_eq!(
            response.header("cache-control"),
            Some("public, max-age=31536000, immutable"),
            "{path}"
        );
    }
    for path in [
        "/",
        "/index.html",
        "/rooms",
        "/manifest.webmanifest",
        "/relay.json",
    ] {
        let response = http_get(addr, path).await;
        assert_eq!(response.status, 200, "{path}");
        assert_eq!(response.header("cache-control"), Some("no-cache"), "{path}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn precompressed_variants_are_sent_to_browsers_that_accept_them() {
    let (server, _dist, _data) = start().await;
    let addr = server.local_addr();
    for path in [WASM, JS, "/index.html"] {
        let cases = [
            ("gzip, deflate, br, zstd", Some("br")),
            ("br", Some("br")),
            ("gzip", Some("gzip")),
            ("br;q=0.5, gzip", Some("gzip")),
            ("identity", None),
            ("", None),
        ];
        for (accept, encoding) in cases {
            let response = if accept.is_empty() {
                http_get(addr, path).await
            } else {
                http_get_with(addr, path, &[("accept-encoding", accept)]).await
            };
            assert_eq!(response.status, 200, "{path} {accept}");
            assert_eq!(
                response.header("content-encoding"),
                encoding,
                "{path} {accept}"
            );
            assert_eq!(
                response.header("vary"),
                Some("accept-encoding"),
                "{path} {accept}"
            );
            let text = response.text();
            match encoding {
                Some("br") => assert_eq!(text, format!("br:{path}"), "{path} {accept}"),
                Some(_) => assert_eq!(text, format!("gz:{path}"), "{path} {accept}"),
                None => assert!(
                    !text.starts_with("br:") && !text.starts_with("gz:"),
                    "{path}"
                ),
            }
            // The type is the file's, not the variant's.
            let content_type = response.header("content-type").unwrap();
            assert!(
                !content_type.contains("octet-stream"),
                "{path}: {content_type}"
            );
        }
    }
    // A file without variants is sent as it is, whatever the browser accepts.
    let css = http_get_with(addr, CSS, &[("accept-encoding", "br, gzip")]).await;
    assert_eq!(css.header("content-encoding"), None);
    assert_eq!(css.text(), "body{}");
    server.shutdown().await;
}

fn assert_security_headers(response: &HttpResponse, ws_source: &str, what: &str) {
    let csp = response
        .header("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no content-security-policy"));
    let directives: Vec<&str> = csp.split(';').map(str::trim).collect();
    for directive in [
        "default-src 'none'",
        "script-src 'self' 'wasm-unsafe-eval'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "manifest-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ] {
        assert!(
            directives.contains(&directive),
            "{what}: {directive} in {csp}"
        );
    }
    let connect = directives
        .iter()
        .find(|d| d.starts_with("connect-src "))
        .unwrap_or_else(|| panic!("{what}: no connect-src in {csp}"));
    let connect: Vec<&str> = connect.split(' ').skip(1).collect();
    assert_eq!(connect, ["'self'", ws_source], "{what}");
    assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
    assert_eq!(
        response.header("cross-origin-opener-policy"),
        Some("same-origin"),
        "{what}"
    );
    assert_eq!(
        response.header("referrer-policy"),
        Some("no-referrer"),
        "{what}"
    );
    assert_eq!(
        response.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let (server, _dist, _data) = start().await;
    let addr = server.local_addr();
    // connect-src names exactly the WebSocket address /relay.json tells the app to dial.
    let info: serde_json::Value =
        serde_json::from_slice(&http_get(addr, "/relay.json").await.body).unwrap();
    let ws: Vec<&str> = info["addrs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a.as_str())
        .filter(|a| a.contains("/ws"))
        .collect();
    assert_eq!(ws.len(), 1, "{info}");
    let parts: Vec<&str> = ws[0].split('/').collect();
    assert_eq!(parts[1..5], ["ip4", "127.0.0.1", "tcp", parts[4]]);
    let ws_source = format!("ws://127.0.0.1:{}", parts[4]);
    for (path, status) in [
        ("/", 200),
        ("/index.html", 200),
        ("/rooms", 200),
        (WASM, 200),
        (JS, 200),
        ("/relay.json", 200),
        ("/metrics", 200),
        ("/healthz", 200),
        ("/missing.js", 404),
    ] {
        let response = http_get(addr, path).await;
        assert_eq!(response.status, status, "{path}");
        assert_security_headers(&response, &ws_source, path);
    }
    let compressed = http_get_with(addr, WASM, &[("accept-encoding", "br")]).await;
    assert_security_headers(&compressed, &ws_source, "compressed wasm");
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
