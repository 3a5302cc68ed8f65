//! Host mirror of the `Params` and `Slot` structs in shaders/common/chunk.wgsl.

use bytemuck::{Pod, Zeroable};

use super::shaders::{Kernel, Variant};
use crate::dtype::DType;

/// Sparsifier codes of `Slot::sparsify`.
pub const SPARSIFY_DENSE: u32 = 0;
pub const SPARSIFY_BERNOULLI: u32 = 1;
pub const SPARSIFY_WINDOW: u32 = 2;
/// DELLA: keep bits and ranks left in the inputs buffer by the rank pass (src/gpu/della.rs).
pub const SPARSIFY_DELLA: u32 = 3;

#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub struct Slot {
    pub offset: u32,
    pub dtype: u32,
    pub weight: f32,
    pub factor: f32,
    pub density: f32,
    pub stream: u32,
    pub sparsify: u32,
    pub cut_to_key: u32,
    pub cut_to_index: u32,
    pub cut_from_key: u32,
    pub cut_from_index: u32,
    pub reserved: u32,
}

impl Slot {
    pub fn new(dtype: u32) -> Self {
        Slot {
            dtype,
            weight: 1.0,
            factor: 1.0,
            ..Zeroable::zeroed()
        }
    }
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Default, Pod, Zeroable)]
pub struct Header {
    pub len: u32,
    pub start: u32,
    pub count: u32,
    pub first_input: u32,
    pub a: f32,
    pub b: f32,
    pub c: f32,
    pub mode: u32,
    pub u: [u32; 4],
}

#[derive(Debug, Clone)]
pub struct Params {
    pub header: Header,
    pub slots: Vec<Slot>,
}

impl Params {
    /// The pipeline variant of `kernel` that reads these slots.
    pub fn variant(&self, kernel: Kernel, out: DType) -> Variant {
        let dtypes = self.slots.iter().map(|s| s.dtype).collect();
        let sparsify = self.slots.iter().map(|s| s.sparsify).collect();
        let header = &self.header;
        Variant::new(kernel, out, dtypes, header.count, header.first_input).with_sparsify(sparsify)
    }

    /// Element-wise kernels load each slot in 16-byte words (shaders/common/elementwise.wgsl):
    /// every slot must start at a 16-byte mark of the input buffer.
    pub fn check_quad_aligned(&self) {
        for (slot, s) in self.slots.iter().enumerate() {
            assert!(
                s.offset % 4 == 0,
                "gpu: slot {slot} starts at word {}, not at a 16-byte mark",
                s.offset
            );
        }
    }

    pub fn bytes(&self) -> Vec<u8> {
        let mut bytes = bytemuck::bytes_of(&self.header).to_vec();
        bytes.extend_from_slice(bytemuck::cast_slice(&self.slots));
        bytes
    }
}
