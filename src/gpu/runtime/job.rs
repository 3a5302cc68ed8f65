//! One tensor's GPU job: its recipe and the dtypes of what is read and written.

use crate::dtype::DType;
use crate::merge::TensorRecipe;

/// One tensor to merge: its recipe and the dtypes of what is read and written.
#[derive(Debug, Clone)]
pub struct GpuTensor<'a> {
    pub recipe: &'a TensorRecipe,
    pub base: Option<DType>,
    /// The non-base inputs, in recipe order.
    pub inputs: Vec<DType>,
    pub output: DType,
    /// Dtypes by slot: the base first when present, then the inputs.
    pub(crate) slots: Vec<DType>,
}

impl<'a> GpuTensor<'a> {
    pub fn new(
        recipe: &'a TensorRecipe,
        base: Option<DType>,
        inputs: Vec<DType>,
        output: DType,
    ) -> Self {
        let slots = base.iter().chain(&inputs).copied().collect();
        GpuTensor {
            recipe,
            base,
            inputs,
            output,
            slots,
        }
    }

    pub fn has_base(&self) -> bool {
        self.base.is_some()
    }

    pub fn numel(&self) -> usize {
        self.recipe.numel()
    }
}
