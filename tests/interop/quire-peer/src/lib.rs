//! Quire's browser node (`app/src/net`) as a standalone wasm module for the interop suite and the
//! `/webrtc` benchmark. The module tree is the app's own source, included by path, so what runs
//! here is exactly what runs in the app; JS drives it through `net::dev::QuireNetDev`.
#![cfg(target_arch = "wasm32")]

use wasm_bindgen::prelude::wasm_bindgen;

#[path = "../../../../app/src/net/mod.rs"]
pub mod net;

#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// Sends `tracing` output to the browser console, filtered like `RUST_LOG` (e.g. `debug` or
/// `quire_peer=debug,libp2p_swarm=debug`), so a failing test's page log explains itself.
#[wasm_bindgen(js_name = enableLogs)]
pub fn enable_logs(filter: &str) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .without_time()
        .with_ansi(false)
        .with_writer(ConsoleWriter::default)
        .try_init();
}

#[derive(Default)]
struct ConsoleWriter(Vec<u8>);

impl std::io::Write for ConsoleWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for ConsoleWriter {
    fn drop(&mut self) {
        let line = String::from_utf8_lossy(&self.0);
        web_sys::console::log_1(&line.trim_end().into());
    }
}
