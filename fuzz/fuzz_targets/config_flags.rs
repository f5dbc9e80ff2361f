//! libFuzzer entry point of [`trifecta_fuzz::config_flags`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| trifecta_fuzz::config_flags::run(data));
