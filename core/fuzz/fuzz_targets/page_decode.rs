//! Any bytes: decoding never panics, and whatever decodes re-encodes to exactly the same bytes
//! (the codec is canonical, so hashes and signatures are over what was received).
#![no_main]

use libfuzzer_sys::fuzz_target;
use quire_core::page::Page;
use quire_core::validate::verify_signature;

fuzz_target!(|data: &[u8]| {
    if let Ok(page) = Page::decode(data) {
        assert_eq!(page.encode(), data, "non-canonical page accepted");
        // Garbage signatures and keys must be rejected, never panic.
        let _ = verify_signature(page);
    }
});
