//! Dequantisation of ggml blocks to f32, one file per quant family. Each follows ggml's
//! reference order of operations, so results equal gguf-py's `dequantize` bit for bit.

mod kquant;
mod legacy;

use super::types::GgmlType;

/// Decodes whole blocks of `kind`: `blocks.len()` must be `n × block_bytes` and `out.len()`
/// `n × block_len`.
pub fn dequantize(kind: GgmlType, blocks: &[u8], out: &mut [f32]) {
    let n = blocks.len() / kind.block_bytes();
    assert_eq!(blocks.len(), n * kind.block_bytes(), "whole blocks");
    assert_eq!(out.len(), n * kind.block_len(), "output length");
    let decode: fn(&[u8], &mut [f32]) = match kind {
        GgmlType::F32 | GgmlType::F16 | GgmlType::BF16 => {
            kind.presented_dtype().decode(blocks, out);
            return;
        }
        GgmlType::Q4_0 => legacy::q4_0,
        GgmlType::Q4_1 => legacy::q4_1,
        GgmlType::Q5_0 => legacy::q5_0,
        GgmlType::Q5_1 => legacy::q5_1,
        GgmlType::Q8_0 => legacy::q8_0,
        GgmlType::Q2K => kquant::q2_k,
        GgmlType::Q3K => kquant::q3_k,
        GgmlType::Q4K => kquant::q4_k,
        GgmlType::Q5K => kquant::q5_k,
        GgmlType::Q6K => kquant::q6_k,
    };
    for (block, values) in blocks
        .chunks_exact(kind.block_bytes())
        .zip(out.chunks_exact_mut(kind.block_len()))
    {
        decode(block, values);
    }
}

/// The little-endian f16 at `bytes[at..at + 2]`, widened.
fn f16_at(bytes: &[u8], at: usize) -> f32 {
    half::f16::from_bits(u16::from_le_bytes([bytes[at], bytes[at + 1]])).to_f32()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q8_0_block_scales_signed_bytes() {
        let mut block = half::f16::from_f32(0.5).to_bits().to_le_bytes().to_vec();
        block.extend((0..32).map(|i| (i as i8 - 16) as u8));
        let mut out = [0f32; 32];
        dequantize(GgmlType::Q8_0, &block, &mut out);
        assert_eq!(out[0], -8.0);
        assert_eq!(out[31], 7.5);
    }

    #[test]
    fn q4_0_low_nibbles_come_first() {
        let mut block = half::f16::from_f32(2.0).to_bits().to_le_bytes().to_vec();
        block.extend([0x9f_u8; 16]);
        let mut out = [0f32; 32];
        dequantize(GgmlType::Q4_0, &block, &mut out);
        assert_eq!(out[0], 14.0); // (0xf - 8) × 2
        assert_eq!(out[16], 2.0); // (0x9 - 8) × 2
    }
}
