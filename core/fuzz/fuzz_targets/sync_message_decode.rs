//! Any frame from a peer: decoding a `/quire/sync/1` message never panics, and whatever decodes
//! re-encodes to a frame that decodes to the same message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quire_core::sync::SyncMessage;

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = SyncMessage::decode(data) {
        let again = SyncMessage::decode(&message.encode()).expect("re-encoded message decodes");
        assert_eq!(again, message);
    }
});
