//! Pure CPU merge math, one file per method family. Every method works on f32 chunks of one
//! tensor at a time; methods that need whole-tensor statistics declare passes over the chunks
//! that run before any output is produced.

pub mod arcee_fusion;
pub mod catalog;
pub mod consensus;
pub mod gta;
pub mod gta_methods;
pub mod hypersphere;
pub mod linear;
pub mod mixup;
pub mod model_stock;
pub mod nearswap;
pub mod passthrough;
pub mod ram;
pub mod recipe;
pub mod rng;
pub mod sce;
pub mod slerp;
pub mod sparsify;
pub mod stats;
pub mod stored;

pub use recipe::{build_merger, TensorRecipe};
pub use stored::{InputStatistics, Stored};

/// A run of consecutive elements of one tensor, decoded to f32, from every input.
#[derive(Debug, Clone, Copy)]
pub struct Chunk<'a> {
    /// Index of the chunk's first element in the flattened tensor.
    pub start: usize,
    pub base: Option<&'a [f32]>,
    /// The non-base models, in config order.
    pub inputs: &'a [&'a [f32]],
}

impl Chunk<'_> {
    pub fn len(&self) -> usize {
        self.base
            .map(<[f32]>::len)
            .or_else(|| self.inputs.first().map(|x| x.len()))
            .unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The merge of one tensor. Executors call `observe` on every chunk for each statistics pass
/// (in element order, `finish_pass` after each), then `apply` on chunks in any order.
pub trait TensorMerge: Send + Sync {
    /// Read again after every `finish_pass`: a merger may find it needs fewer passes.
    fn stat_passes(&self) -> usize {
        0
    }

    fn observe(&mut self, _pass: usize, _chunk: &Chunk<'_>) {}

    /// True when each input's statistics depend on that input (and the base) alone: executors
    /// then gather them through `input_statistics` instead of `observe`.
    fn statistics_by_input(&self) -> bool {
        false
    }

    /// One observer per input that takes part in `pass`, each to be fed every chunk in element
    /// order; executors may run them on separate threads.
    fn input_statistics(&mut self, _pass: usize) -> Vec<Box<dyn InputStatistics + '_>> {
        Vec::new()
    }

    fn finish_pass(&mut self, _pass: usize) {}

    /// Chunks must hold whole rows of this length (for per-row statistics); 1 when any split works.
    fn row_alignment(&self) -> usize {
        1
    }

    fn apply(&self, chunk: &Chunk<'_>, out: &mut [f32]);
}
