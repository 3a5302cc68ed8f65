//! GGUF tensors under their Hugging Face names and shapes, read by element ranges in HF order.

use std::ops::Range;

use super::dequant::dequantize;
use super::header::GgufTensorInfo;
use super::names::RowPermutation;
use super::types::GgmlType;
use crate::dtype::DType;
use crate::error::{MergeError, Result};
use crate::io::source::TensorSource;

/// One tensor as a Hugging Face checkpoint would hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GgufTensor {
    /// The HF name (the GGUF name when no HF name is known).
    pub name: String,
    pub gguf_name: String,
    pub kind: GgmlType,
    /// HF order: slowest dimension first (GGUF's order reversed).
    pub shape: Vec<usize>,
    /// Absolute byte range of the stored blocks.
    pub start: u64,
    pub len: u64,
    /// Set for Llama Q/K projections, whose rows llama.cpp reorders.
    pub permutation: Option<RowPermutation>,
}

impl GgufTensor {
    pub fn from_info(
        file: &str,
        info: &GgufTensorInfo,
        name: String,
        heads: Option<usize>,
    ) -> Result<Self> {
        let shape: Vec<usize> = info.dims.iter().rev().copied().collect();
        let permutation = match heads {
            None => None,
            Some(heads) => {
                let rows = shape.first().copied().unwrap_or(1);
                let permutation = RowPermutation::new(rows, heads).ok_or_else(|| {
                    MergeError::BadTensor {
                        file: file.to_string(),
                        tensor: info.name.clone(),
                        reason: format!(
                            "cannot undo llama.cpp's Q/K row permutation: {rows} rows are not {heads} heads of an even size"
                        ),
                    }
                })?;
                Some(permutation)
            }
        };
        Ok(GgufTensor {
            name,
            gguf_name: info.name.clone(),
            kind: info.kind,
            shape,
            start: info.start,
            len: info.len,
            permutation,
        })
    }

    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// The dtype `read` produces: F32 for quantised tensors, else as stored.
    pub fn dtype(&self) -> DType {
        self.kind.presented_dtype()
    }

    /// Values per index of the first HF dimension (1 for a vector such as a bias).
    fn row_len(&self) -> usize {
        self.shape.iter().skip(1).product::<usize>().max(1)
    }

    /// GGUF element ranges holding HF elements `first..first + count`, in HF order.
    fn segments(&self, first: usize, count: usize) -> Vec<Range<usize>> {
        let Some(permutation) = self.permutation else {
            return std::iter::once(first..first + count).collect();
        };
        let row_len = self.row_len();
        let (mut segments, mut at, end) = (Vec::new(), first, first + count);
        while at < end {
            let (row, column) = (at / row_len, at % row_len);
            let take = (row_len - column).min(end - at);
            let from = permutation.gguf_row(row) * row_len + column;
            segments.push(from..from + take);
            at += take;
        }
        segments
    }

    /// Reads HF elements `first..first + count` of this tensor from `source` (the GGUF file)
    /// into `out`, `count × dtype().size()` bytes, dequantising the blocks that cover them.
    pub async fn read<S: TensorSource>(
        &self,
        source: &S,
        first: usize,
        count: usize,
        out: &mut [u8],
    ) -> Result<()> {
        let bad = |reason: String| MergeError::BadTensor {
            file: source.name().to_string(),
            tensor: self.name.clone(),
            reason,
        };
        let numel = self.numel();
        if first.checked_add(count).is_none_or(|end| end > numel) {
            return Err(bad(format!(
                "elements {first}..{first}+{count} requested from a tensor of {numel}"
            )));
        }
        let size = self.dtype().size();
        if out.len() != count * size {
            return Err(bad(format!(
                "buffer of {} bytes given for {count} {} elements",
                out.len(),
                self.dtype()
            )));
        }
        let segments = self.segments(first, count);
        let (block_len, block_bytes) = (self.kind.block_len(), self.kind.block_bytes());
        let Some(first_block) = segments.iter().map(|s| s.start / block_len).min() else {
            return Ok(());
        };
        let end_block = segments
            .iter()
            .map(|s| s.end.div_ceil(block_len))
            .max()
            .unwrap_or(first_block);
        // One read covering every segment: for permuted tensors at most the heads they touch.
        let mut raw = vec![0u8; (end_block - first_block) * block_bytes];
        let offset = self.start + (first_block * block_bytes) as u64;
        source.read_range(offset, &mut raw).await?;
        let mut values = Vec::new();
        let mut written = 0;
        for segment in segments {
            let target = &mut out[written..written + segment.len() * size];
            written += target.len();
            let (from_block, to_block) =
                (segment.start / block_len, segment.end.div_ceil(block_len));
            let blocks = &raw
                [(from_block - first_block) * block_bytes..(to_block - first_block) * block_bytes];
            if self.kind.is_float() {
                target.copy_from_slice(blocks);
                continue;
            }
            values.resize((to_block - from_block) * block_len, 0.0);
            dequantize(self.kind, blocks, &mut values);
            let skip = segment.start - from_block * block_len;
            DType::F32.encode(&values[skip..skip + segment.len()], target);
        }
        Ok(())
    }
}
