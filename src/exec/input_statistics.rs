//! Statistics passes of mergers whose inputs gather theirs apart
//! ([`crate::merge::TensorMerge::input_statistics`]): observers read their input and the base chunk by chunk
//! as stored, viewed in place where the source allows.

use crate::error::{MergeError, Result};
use crate::io::{Checkpoint, TensorSource};
use crate::merge::{InputStatistics, Stored};
use crate::plan::PlannedTensor;

/// Feeds every observer each chunk of `step` elements of its input and of the base, in element
/// order; the base is read once per chunk for all of them.
pub async fn observe_inputs<S: TensorSource>(
    models: &[Checkpoint<S>],
    tensor: &PlannedTensor,
    observers: &mut [Box<dyn InputStatistics + '_>],
    step: usize,
) -> Result<()> {
    let base = tensor.base.as_ref().ok_or_else(|| {
        MergeError::Unsupported(format!(
            "tensor `{}`: task vectors need a base model",
            tensor.recipe.name
        ))
    })?;
    let (mut base_copy, mut input_copy) = (Vec::new(), Vec::new());
    let numel = tensor.numel();
    let mut start = 0;
    while start < numel {
        let count = step.min(numel - start);
        let base_bytes = models[base.model]
            .element_bytes(&base.tensor, start, count, &mut base_copy)
            .await?;
        let base_stored = Stored {
            bytes: &base_bytes,
            dtype: base.dtype,
        };
        for observer in observers.iter_mut() {
            let input = &tensor.inputs[observer.input()];
            let input_bytes = models[input.model]
                .element_bytes(&input.tensor, start, count, &mut input_copy)
                .await?;
            let input_stored = Stored {
                bytes: &input_bytes,
                dtype: input.dtype,
            };
            observer.observe_stored(start, input_stored, base_stored);
        }
        start += count;
    }
    Ok(())
}

/// [`observe_inputs`] with the observers spread over up to `threads` threads (this one among
/// them): each thread reads the base for itself.
#[cfg(not(target_arch = "wasm32"))]
pub fn observe_inputs_in_parallel<S: TensorSource + Sync>(
    models: &[Checkpoint<S>],
    tensor: &PlannedTensor,
    mut observers: Vec<Box<dyn InputStatistics + '_>>,
    step: usize,
    threads: usize,
) -> Result<()> {
    let threads = threads.clamp(1, observers.len().max(1));
    let mut groups: Vec<Vec<Box<dyn InputStatistics + '_>>> =
        (0..threads).map(|_| Vec::new()).collect();
    for (i, observer) in observers.drain(..).enumerate() {
        groups[i % threads].push(observer);
    }
    let mut own = groups.pop().unwrap_or_default();
    std::thread::scope(|scope| {
        let others: Vec<_> = groups
            .into_iter()
            .map(|mut group| {
                scope.spawn(move || {
                    pollster::block_on(observe_inputs(models, tensor, &mut group, step))
                })
            })
            .collect();
        let mine = pollster::block_on(observe_inputs(models, tensor, &mut own, step));
        others
            .into_iter()
            .map(|handle| handle.join().expect("a statistics thread panicked"))
            .chain([mine])
            .collect::<Result<()>>()
    })
}
