#![no_main]
//! Feeds arbitrary JSON to the Rekor entry canonicalizer; it must return an error, never panic.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = sigstack_tlog::canonicalize_entry(&value);
    }
});
