//! Cutting every output tensor into element ranges that workers handle independently.

use std::ops::Range;

use crate::error::Result;
use crate::merge::build_merger;
use crate::plan::MergePlan;

/// One chunk of one output tensor; items are ordered like the output file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkItem {
    pub tensor: usize,
    pub range: Range<usize>,
    /// Index of this chunk within its tensor.
    pub part: usize,
}

/// Splits tensors of `numels` elements into chunks of at most `chunk_elements` (rounded to whole
/// rows of `alignments[i]` elements); an empty tensor still gets one (empty) item.
pub fn split_into_items(
    numels: &[usize],
    alignments: &[usize],
    chunk_elements: usize,
) -> Vec<WorkItem> {
    let mut items = Vec::new();
    for (tensor, (&numel, &align)) in numels.iter().zip(alignments).enumerate() {
        let align = align.max(1);
        let step = (chunk_elements / align).max(1) * align;
        if numel == 0 {
            items.push(WorkItem {
                tensor,
                range: 0..0,
                part: 0,
            });
            continue;
        }
        let mut start = 0;
        let mut part = 0;
        while start < numel {
            let end = (start + step).min(numel);
            items.push(WorkItem {
                tensor,
                range: start..end,
                part,
            });
            start = end;
            part += 1;
        }
    }
    items
}

/// Work items for a plan, and which tensors need statistics passes. Each merger is built here
/// only to ask its row alignment and dropped; executors build it again when its tensor starts,
/// so per-tensor state (histograms, samples) never exists for the whole model at once.
pub fn plan_items(plan: &MergePlan, chunk_elements: usize) -> Result<(Vec<WorkItem>, Vec<bool>)> {
    let mut alignments = Vec::with_capacity(plan.tensors.len());
    let mut needs_statistics = Vec::with_capacity(plan.tensors.len());
    for tensor in &plan.tensors {
        let merger = build_merger(&tensor.recipe)?;
        alignments.push(merger.row_alignment());
        needs_statistics.push(merger.stat_passes() > 0);
    }
    let numels: Vec<usize> = plan.tensors.iter().map(|t| t.numel()).collect();
    Ok((
        split_into_items(&numels, &alignments, chunk_elements),
        needs_statistics,
    ))
}

/// What a worker does next: gather a tensor's statistics, or merge one chunk.
#[cfg(not(target_arch = "wasm32"))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Prepare(usize),
    Chunk(WorkItem),
}

/// Orders the work so that a tensor's statistics passes are queued before the chunks of the
/// tensor ahead of it: while some workers merge tensor t, another gathers statistics for t + 1.
#[cfg(not(target_arch = "wasm32"))]
pub fn schedule(items: Vec<WorkItem>, needs_statistics: &[bool]) -> Vec<Step> {
    let mut steps = Vec::with_capacity(items.len() + needs_statistics.len());
    if needs_statistics.first() == Some(&true) {
        steps.push(Step::Prepare(0));
    }
    let mut previous = None;
    for item in items {
        if previous != Some(item.tensor) {
            let following = item.tensor + 1;
            if needs_statistics.get(following) == Some(&true) {
                steps.push(Step::Prepare(following));
            }
            previous = Some(item.tensor);
        }
        steps.push(Step::Chunk(item));
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_are_gathered_one_tensor_ahead() {
        let items = split_into_items(&[2, 2, 2], &[1, 1, 1], 1);
        let steps = schedule(items, &[true, false, true]);
        let kinds: Vec<String> = steps
            .iter()
            .map(|s| match s {
                Step::Prepare(t) => format!("P{t}"),
                Step::Chunk(i) => format!("C{}", i.tensor),
            })
            .collect();
        assert_eq!(
            kinds,
            ["P0", "C0", "C0", "P2", "C1", "C1", "C2", "C2"].map(String::from)
        );
    }

    #[test]
    fn chunks_cover_every_element_once_and_respect_rows() {
        let items = split_into_items(&[10, 0, 7], &[1, 1, 3], 4);
        let ranges: Vec<(usize, Range<usize>)> =
            items.iter().map(|i| (i.tensor, i.range.clone())).collect();
        assert_eq!(
            ranges,
            vec![
                (0, 0..4),
                (0, 4..8),
                (0, 8..10),
                (1, 0..0),
                (2, 0..3),
                (2, 3..6),
                (2, 6..7)
            ]
        );
    }
}
