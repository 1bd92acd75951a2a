//! Helpers shared by the relay's integration tests.
#![allow(dead_code, clippy::unwrap_used)]

pub mod client;

use std::net::SocketAddr;
use std::path::Path;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// A parsed HTTP/1.1 response, enough for asserting on status, headers and body.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A plain `GET` over a fresh connection (`Connection: close`), so the test sees exactly what a
/// browser or curl would receive without an HTTP client dependency.
pub async fn http_get(addr: SocketAddr, path: &str) -> HttpResponse {
    http_get_with(addr, path, &[]).await
}

/// [`http_get`] with extra request headers, e.g. `("accept-encoding", "br")`.
pub async fn http_get_with(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> HttpResponse {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> HttpResponse {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = std::str::from_utf8(&raw[..split]).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .map(|line| {
            let (key, value) = line.split_once(':').unwrap();
            (key.trim().to_owned(), value.trim().to_owned())
        })
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    HttpResponse {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n").unwrap();
        let size_text = std::str::from_utf8(&data[..line_end]).unwrap();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
        data = &data[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// Names as Trunk writes them (content hash after the stem; wasm-bindgen's `_bg` after it).
pub const WASM: &str = "/quire-app-0123456789abcdef_bg.wasm";
pub const JS: &str = "/quire-app-0123456789abcdef.js";
pub const CSS: &str = "/quire-89abcdef01234567.css";

/// A `dist/` like Trunk's output after `quire-precompress`: an app shell, a wasm module and a
/// script with `.br` and `.gz` variants (marked bodies, so a test sees which one it got), a
/// stylesheet without variants, and an unhashed copied file.
pub fn write_fake_dist(dir: &Path) {
    let write = |name: &str, body: &[u8]| {
        std::fs::write(dir.join(name.trim_start_matches('/')), body).unwrap();
    };
    write("index.html", b"<!doctype html><title>Quire</title>");
    // The wasm magic number and version: a real (empty) module.
    write(WASM, b"\0asm\x01\0\0\0");
    write(JS, b"export default 1;");
    write(CSS, b"body{}");
    write("manifest.webmanifest", b"{}");
    for file in ["/index.html", WASM, JS] {
        write(&format!("{file}.br"), format!("br:{file}").as_bytes());
        write(&format!("{file}.gz"), format!("gz:{file}").as_bytes());
    }
}
