//! One-pass merging of methods whose statistics can be guessed: what each chunk's merge hands
//! back besides its output, so the executor can settle the statistics once the tensor is done
//! and merge again only the elements the guess left open (see [`super::sparsify::guess`]).

use super::sparsify::guess::CutTally;

/// Elements a chunk's merge could not decide: their indices and input values.
#[derive(Debug, Clone, Default)]
pub struct Undecided {
    pub indices: Vec<u32>,
    /// Per element: the base value, then each input's, in config order (`stride` values).
    pub values: Vec<f32>,
    pub stride: usize,
}

impl Undecided {
    pub fn len(&self) -> usize {
        self.indices.len()
    }

    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }
}

/// What one chunk's guessed merge saw: per input, its sparsifier's tally; and the elements
/// left undecided.
#[derive(Debug, Clone, Default)]
pub struct ChunkTally {
    pub per_input: Vec<Vec<CutTally>>,
    pub undecided: Undecided,
}
