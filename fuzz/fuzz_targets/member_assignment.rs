#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| osprey::fuzzing::member_assignment(data));
