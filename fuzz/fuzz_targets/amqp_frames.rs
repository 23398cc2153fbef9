#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| osprey::fuzzing::amqp_frames(data));
