//! Helpers shared by unit tests: a deterministic byte mutator for fuzzing decoders.

/// Calls `check` with `rounds` copies of `seed`, each with `flips` bytes replaced by
/// pseudo-random ones. A fixed xorshift sequence: every run tries the same inputs.
pub fn mutations(seed: &[u8], rounds: usize, flips: usize, mut check: impl FnMut(&[u8])) {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..rounds {
        let mut bytes = seed.to_vec();
        for _ in 0..flips {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let at = (state as usize) % bytes.len().max(1);
            if let Some(byte) = bytes.get_mut(at) {
                *byte = (state >> 32) as u8;
            }
        }
        check(&bytes);
    }
}
