//! Helpers shared by the models integration tests (each test file that needs them declares
//! `mod common;`).

/// Sentences with learnable structure: each of `vocab` pseudo-words is followed by a fixed
/// successor 80 % of the time, so a masked word is predictable from its neighbours. Lengths
/// are `min_len .. min_len + len_spread`; the same arguments give the same sentences.
pub fn successor_corpus(
    n: usize,
    vocab: usize,
    seed: u64,
    min_len: usize,
    len_spread: usize,
) -> Vec<String> {
    let words: Vec<String> = (0..vocab)
        .map(|i| format!("w{}x{}", i, i * 7 % 13))
        .collect();
    let mut state = seed;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as usize
    };
    (0..n)
        .map(|_| {
            let mut w = next() % words.len();
            let len = min_len + next() % len_spread;
            let mut s = Vec::with_capacity(len);
            for _ in 0..len {
                s.push(words[w].clone());
                w = if next() % 10 < 8 {
                    (w * 3 + 1) % words.len()
                } else {
                    next() % words.len()
                };
            }
            s.join(" ")
        })
        .collect()
}
