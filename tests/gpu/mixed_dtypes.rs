//! Kernels compiled for slots of different dtypes (a bf16 base, f16 and f32 inputs: each
//! pipeline variant fixes its slots' dtypes as constants) against the CPU twin, for every
//! output dtype, on tensors cut into many chunks too.

use crate::common;

use std::ops::Range;

use common::gpu::{adapter, assert_close, cpu_merge_values, data, recipe, DTYPES};
use mixmerge::dtype::DType;
use mixmerge::gpu::bench::MemorySlots;
use mixmerge::gpu::{merge_tensor, GpuTensor, SlotRead, SlotReader};
use mixmerge::merge::catalog::{encoded, MethodKind, ParamName};

/// Slots each encoded in its own dtype: one single-slot `MemorySlots` per slot.
struct MixedSlots(Vec<MemorySlots>);

impl SlotReader for MixedSlots {
    fn read<'a>(
        &'a mut self,
        slot: usize,
        range: Range<usize>,
        out: &'a mut Vec<u8>,
    ) -> SlotRead<'a> {
        self.0[slot].read(0, range, out)
    }
}

/// The test data of common/gpu.rs encoded slot by slot in `dtypes`, and the values the
/// encoded bytes hold (what both paths merge).
fn mixed(dtypes: &[DType], numel: usize, tied: bool) -> (MixedSlots, Vec<Vec<f32>>) {
    let exact = data(DType::F32, dtypes.len(), numel, tied);
    let mut slots = Vec::new();
    let mut values = Vec::new();
    for (bytes, &dtype) in exact.slots.iter().zip(dtypes) {
        let mut v = vec![0f32; numel];
        DType::F32.decode(bytes, &mut v);
        let mut encoded = vec![0u8; numel * dtype.size()];
        dtype.encode(&v, &mut encoded);
        dtype.decode(&encoded, &mut v);
        slots.push(MemorySlots {
            dtype,
            slots: vec![encoded],
        });
        values.push(v);
    }
    (MixedSlots(slots), values)
}

/// `method` over inputs in `inputs` (after a bf16 base when the method has one).
fn check(
    method: MethodKind,
    inputs: &[DType],
    global: &[(ParamName, f64)],
    per_input: &[(ParamName, f64)],
    tied: bool,
) {
    for (numel, tiny) in [(7, false), (1001, false), (20_003, true)] {
        let Some(ctx) = adapter(tiny) else { return };
        for out in DTYPES {
            let r = recipe(method, inputs.len(), numel, global, per_input);
            let base = r.has_base.then_some(DType::BF16);
            let dtypes: Vec<DType> = base.iter().chain(inputs).copied().collect();
            let (mut slots, values) = mixed(&dtypes, numel, tied);
            let cpu = cpu_merge_values(&r, &values, out);
            let tensor = GpuTensor::new(&r, base, inputs.to_vec(), out);
            let mut gpu = Vec::new();
            pollster::block_on(merge_tensor(ctx, &tensor, &mut slots, &mut |b| {
                gpu.extend_from_slice(b);
                Ok(())
            }))
            .expect("gpu merge");
            let what = format!("{} {dtypes:?} → {out} n={numel}", method.key());
            assert_close(&what, out, &cpu, &gpu, 4);
        }
    }
}

#[test]
fn linear_over_mixed_dtypes_matches_cpu() {
    let inputs = [DType::F16, DType::F32, DType::BF16];
    check(MethodKind::Linear, &inputs, &[], &[], false);
}

#[test]
fn task_arithmetic_and_dare_over_mixed_dtypes_match_cpu() {
    let inputs = [DType::F16, DType::F32];
    check(MethodKind::TaskArithmetic, &inputs, &[], &[], false);
    let l1 = [(ParamName::Rescale, encoded::RESCALE_L1)];
    check(
        MethodKind::DareLinear,
        &inputs,
        &l1,
        &[(ParamName::Density, 0.4)],
        false,
    );
}

#[test]
fn ties_over_mixed_dtypes_matches_cpu() {
    let density = [(ParamName::Density, 0.3)];
    check(
        MethodKind::Ties,
        &[DType::F32, DType::F16],
        &[],
        &density,
        true,
    );
}

#[test]
fn slerp_over_mixed_dtypes_matches_cpu() {
    check(
        MethodKind::Slerp,
        &[DType::F32],
        &[(ParamName::T, 0.3)],
        &[],
        false,
    );
}
