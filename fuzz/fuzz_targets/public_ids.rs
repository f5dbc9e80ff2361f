//! libFuzzer entry point of [`trifecta_fuzz::public_ids`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| trifecta_fuzz::public_ids::run(data));
