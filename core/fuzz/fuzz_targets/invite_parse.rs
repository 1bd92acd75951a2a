//! Any pasted text: parsing an invite never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quire_core::invite::Invite;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = Invite::parse(&text, 0);
});
