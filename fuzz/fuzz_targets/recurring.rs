//! libFuzzer entry point of [`trifecta_fuzz::recurring`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| trifecta_fuzz::recurring::run(data));
