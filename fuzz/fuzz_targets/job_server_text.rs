#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| osprey::fuzzing::job_server_text(data));
