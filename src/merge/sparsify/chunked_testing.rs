//! Test driver: a sparsifier run like the executor runs it — statistics over chunks in element
//! order, then `apply` on other chunks, spread over threads that share it by reference.

use super::Sparsifier;

/// Observes `deltas` in chunks of `observe_chunk` (statistics passes, in order), then applies it
/// on the pieces between `cuts` (ascending, inside 0..len), dealt round-robin to `threads`.
pub fn run_chunked(
    sparsifier: &mut dyn Sparsifier,
    deltas: &[f32],
    observe_chunk: usize,
    cuts: &[usize],
    threads: usize,
) -> Vec<f32> {
    let mut pass = 0;
    while pass < sparsifier.stat_passes() {
        for (c, part) in deltas.chunks(observe_chunk).enumerate() {
            sparsifier.observe(pass, c * observe_chunk, part);
        }
        sparsifier.finish_pass(pass);
        pass += 1;
    }
    let mut out = deltas.to_vec();
    let mut pieces: Vec<(usize, &mut [f32])> = Vec::new();
    let (mut rest, mut at) = (out.as_mut_slice(), 0);
    for &cut in cuts.iter().chain([&deltas.len()]) {
        let (piece, tail) = rest.split_at_mut(cut - at);
        pieces.push((at, piece));
        (rest, at) = (tail, cut);
    }
    let sparsifier: &dyn Sparsifier = sparsifier;
    let mut dealt: Vec<Vec<(usize, &mut [f32])>> = (0..threads).map(|_| Vec::new()).collect();
    for (p, piece) in pieces.into_iter().enumerate() {
        dealt[p % threads].push(piece);
    }
    std::thread::scope(|scope| {
        for pieces in dealt {
            scope.spawn(move || {
                for (start, piece) in pieces {
                    sparsifier.apply(start, piece);
                }
            });
        }
    });
    out
}

/// For every observe chunking in `observe_chunks`, apply cuts every 61, 1000 and 4096 elements
/// (at odd offsets) and 1, 2 and 4 threads, a fresh sparsifier from `make` gives `reference` bit
/// for bit, with `factor` of it equal to `expected_factor`.
pub fn assert_independent_of_chunking<S: Sparsifier>(
    make: impl Fn() -> S,
    factor: impl Fn(&S) -> f32,
    deltas: &[f32],
    observe_chunks: &[usize],
    (reference, expected_factor): (&[f32], f32),
) {
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    for &observe_chunk in observe_chunks {
        for step in [61, 1000, 4096] {
            for threads in [1, 2, 4] {
                let mut chunked = make();
                let cuts = odd_cuts(deltas.len(), step);
                let out = run_chunked(&mut chunked, deltas, observe_chunk, &cuts, threads);
                assert_eq!(factor(&chunked).to_bits(), expected_factor.to_bits());
                assert!(
                    bits(&out) == bits(reference),
                    "observe {observe_chunk}, cuts every {step}, {threads} threads"
                );
            }
        }
    }
}

/// Cuts at odd offsets: starts that are neither multiples of 64 nor of 32 nor of 8.
pub fn odd_cuts(len: usize, step: usize) -> Vec<usize> {
    (1..)
        .map(|k| k * step - 3 * (k % 5))
        .take_while(|&c| c < len)
        .collect()
}
