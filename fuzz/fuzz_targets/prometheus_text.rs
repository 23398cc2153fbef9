#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| osprey::fuzzing::prometheus_text(data));
