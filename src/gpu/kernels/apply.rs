//! What an element-wise apply pass runs: its kernel, the tensor slots it uploads and the
//! parameters the statistics passes complete (cuts, factors, weights).

use crate::gpu::runtime::params::{Header, Params, Slot};
use crate::gpu::runtime::shaders::Kernel;

pub struct ApplyPlan {
    pub kernel: Kernel,
    /// Tensor slots (base first when present, then inputs) uploaded, in kernel slot order.
    pub uploads: Vec<usize>,
    pub header: Header,
    /// Per uploaded slot; offsets are filled per chunk.
    pub slots: Vec<Slot>,
}

impl ApplyPlan {
    /// The kernel's parameters before a chunk sets its offsets.
    pub fn params(&self) -> Params {
        Params {
            header: self.header,
            slots: self.slots.clone(),
        }
    }
}
