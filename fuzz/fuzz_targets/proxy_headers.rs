//! libFuzzer entry point of [`trifecta_fuzz::proxy_headers`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| trifecta_fuzz::proxy_headers::run(data));
