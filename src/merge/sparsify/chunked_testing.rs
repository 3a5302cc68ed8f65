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

/// Cuts at odd offsets: starts that are neither multiples of 64 nor of 32 nor of 8.
pub fn odd_cuts(len: usize, step: usize) -> Vec<usize> {
    (1..)
        .map(|k| k * step - 3 * (k % 5))
        .take_while(|&c| c < len)
        .collect()
}
