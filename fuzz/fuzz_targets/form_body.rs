//! libFuzzer entry point of [`trifecta_fuzz::form_body`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| trifecta_fuzz::form_body::run(data));
