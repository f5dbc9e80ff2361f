//! libFuzzer entry point of [`trifecta_fuzz::cable_frame`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| trifecta_fuzz::cable_frame::run(data));
