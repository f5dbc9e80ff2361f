//! libFuzzer entry point of [`trifecta_fuzz::cookies`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| trifecta_fuzz::cookies::run(data));
