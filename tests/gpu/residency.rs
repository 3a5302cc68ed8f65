//! A tensor that fits one binding is uploaded once for all of its passes: TIES's rank cuts,
//! DARE's L1 sums and slerp's Gram pass read the held slots instead of reading each input
//! again — with results equal to the CPU's, and equal to the chunked path's.

use crate::common;

use std::ops::Range;

use common::gpu::*;
use mixmerge::dtype::DType;
use mixmerge::gpu::bench::MemorySlots;
use mixmerge::gpu::{merge_tensor, GpuContext, GpuTensor, SlotRead, SlotReader};
use mixmerge::merge::catalog::{MethodKind, ParamName};
use mixmerge::merge::TensorRecipe;

/// Counts the elements read of each slot.
struct CountingReader {
    data: MemorySlots,
    elements_read: Vec<usize>,
}

impl SlotReader for CountingReader {
    fn read<'a>(
        &'a mut self,
        slot: usize,
        range: Range<usize>,
        out: &'a mut Vec<u8>,
    ) -> SlotRead<'a> {
        self.elements_read[slot] += range.len();
        self.data.read(slot, range, out)
    }
}

/// The GPU merge's bytes and how many times over each slot was read.
fn merge_counting(ctx: &GpuContext, recipe: &TensorRecipe, dtype: DType) -> (Vec<u8>, Vec<f64>) {
    let slots = recipe.per_input.len() + usize::from(recipe.has_base);
    let mut reader = CountingReader {
        data: data(dtype, slots, recipe.numel(), true),
        elements_read: vec![0; slots],
    };
    let tensor = GpuTensor::new(
        recipe,
        recipe.has_base.then_some(dtype),
        vec![dtype; recipe.per_input.len()],
        dtype,
    );
    let mut bytes = Vec::new();
    pollster::block_on(merge_tensor(ctx, &tensor, &mut reader, &mut |b| {
        bytes.extend_from_slice(b);
        Ok(())
    }))
    .expect("gpu merge");
    let numel = recipe.numel() as f64;
    let times = reader.elements_read.iter().map(|&n| n as f64 / numel);
    (bytes, times.collect())
}

fn recipes(numel: usize) -> Vec<TensorRecipe> {
    let sparse = [(ParamName::Density, 0.3)];
    vec![
        recipe(MethodKind::Ties, 2, numel, &[], &sparse),
        recipe(MethodKind::DareTies, 2, numel, &[], &sparse),
        recipe(MethodKind::BreadcrumbsTies, 2, numel, &[], &sparse),
        recipe(MethodKind::Slerp, 1, numel, &[(ParamName::T, 0.3)], &[]),
        recipe(MethodKind::Linear, 3, numel, &[], &[]),
    ]
}

#[test]
fn a_tensor_within_one_binding_is_read_once_for_every_pass() {
    let Some(ctx) = adapter(false) else { return };
    for recipe in recipes(20_003) {
        let method = recipe.method.key();
        for dtype in [DType::BF16, DType::F32] {
            let (gpu, times) = merge_counting(ctx, &recipe, dtype);
            assert!(
                times.iter().all(|&t| t == 1.0),
                "{method} {dtype:?}: {times:?}"
            );
            let slots = recipe.per_input.len() + usize::from(recipe.has_base);
            let cpu = cpu_merge(&recipe, &data(dtype, slots, recipe.numel(), true), dtype);
            assert_close(method, dtype, &cpu, &gpu, 4);
        }
    }
}

#[test]
fn a_tensor_beyond_one_binding_is_read_per_pass_with_the_same_result() {
    let (Some(held), Some(chunked)) = (adapter(false), adapter(true)) else {
        return;
    };
    let ties = recipe(
        MethodKind::Ties,
        2,
        20_003,
        &[],
        &[(ParamName::Density, 0.3)],
    );
    let (whole, once) = merge_counting(held, &ties, DType::BF16);
    let (chunks, again) = merge_counting(chunked, &ties, DType::BF16);
    assert_eq!(whole, chunks);
    assert_eq!(once, vec![1.0; 3]);
    // The rank cuts read the base and each input per radix digit.
    assert!(again.iter().all(|&t| t > 2.0), "{again:?}");
}
