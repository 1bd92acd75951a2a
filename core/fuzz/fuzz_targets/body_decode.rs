//! Any page kind and plaintext: decoding never panics and is canonical.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quire_core::page::{Body, PageKind};

fuzz_target!(|data: &[u8]| {
    let Some((&kind, rest)) = data.split_first() else {
        return;
    };
    if let Ok(body) = Body::decode(PageKind::from_u8(kind), rest) {
        assert_eq!(body.encode(), rest, "non-canonical body accepted");
    }
});
