//! libFuzzer entry point of [`trifecta_fuzz::backup_manifest`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| trifecta_fuzz::backup_manifest::run(data));
