//! Element types on disk and their conversion to and from the f32 working type.
//! This is the reference the WGSL codecs are tested against: f32 → f16/bf16 rounds to nearest even.

use crate::merge::sparsify::wide::wide_fn;
use half::f16;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DType {
    F64,
    F32,
    F16,
    BF16,
}

impl DType {
    pub fn size(self) -> usize {
        match self {
            DType::F64 => 8,
            DType::F32 => 4,
            DType::F16 | DType::BF16 => 2,
        }
    }

    /// The name used in safetensors headers.
    pub fn safetensors_name(self) -> &'static str {
        match self {
            DType::F64 => "F64",
            DType::F32 => "F32",
            DType::F16 => "F16",
            DType::BF16 => "BF16",
        }
    }

    pub fn from_safetensors_name(name: &str) -> Option<Self> {
        Some(match name {
            "F64" => DType::F64,
            "F32" => DType::F32,
            "F16" => DType::F16,
            "BF16" => DType::BF16,
            _ => return None,
        })
    }

    /// The name used by torch, mergekit configs and `config.json`'s `torch_dtype`.
    pub fn torch_name(self) -> &'static str {
        match self {
            DType::F64 => "float64",
            DType::F32 => "float32",
            DType::F16 => "float16",
            DType::BF16 => "bfloat16",
        }
    }

    /// Accepts the spellings mergekit accepts.
    pub fn from_config_name(name: &str) -> Option<Self> {
        Some(match name {
            "float64" | "fp64" | "f64" => DType::F64,
            "float32" | "fp32" | "f32" | "float" => DType::F32,
            "float16" | "fp16" | "f16" | "half" => DType::F16,
            "bfloat16" | "bf16" => DType::BF16,
            _ => return None,
        })
    }

    /// Decodes little-endian elements into f32. `bytes.len()` must be `out.len() * size()`.
    pub fn decode(self, bytes: &[u8], out: &mut [f32]) {
        assert_eq!(bytes.len(), out.len() * self.size(), "decode length");
        match self {
            DType::F32 => match bytemuck::try_cast_slice::<u8, f32>(bytes) {
                Ok(words) if cfg!(target_endian = "little") => out.copy_from_slice(words),
                _ => {
                    for (o, c) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                        *o = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
                    }
                }
            },
            DType::F64 => {
                for (o, c) in out.iter_mut().zip(bytes.chunks_exact(8)) {
                    *o = f64::from_le_bytes(c.try_into().expect("8 bytes")) as f32;
                }
            }
            DType::F16 => {
                for (o, c) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                    *o = f16::from_bits(u16::from_le_bytes([c[0], c[1]])).to_f32();
                }
            }
            DType::BF16 => match bytemuck::try_cast_slice::<u8, u16>(bytes) {
                Ok(words) if cfg!(target_endian = "little") => decode_bf16_words(words, out),
                _ => {
                    for (o, c) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                        *o = f32::from_bits((u16::from_le_bytes([c[0], c[1]]) as u32) << 16);
                    }
                }
            },
        }
    }

    /// Encodes f32 values little-endian, rounding to nearest even. `out.len()` must be
    /// `values.len() * size()`.
    pub fn encode(self, values: &[f32], out: &mut [u8]) {
        assert_eq!(out.len(), values.len() * self.size(), "encode length");
        match self {
            DType::F32 => match bytemuck::try_cast_slice_mut::<u8, f32>(out) {
                Ok(words) if cfg!(target_endian = "little") => words.copy_from_slice(values),
                _ => {
                    for (v, c) in values.iter().zip(out.chunks_exact_mut(4)) {
                        c.copy_from_slice(&v.to_le_bytes());
                    }
                }
            },
            DType::F64 => {
                for (v, c) in values.iter().zip(out.chunks_exact_mut(8)) {
                    c.copy_from_slice(&(*v as f64).to_le_bytes());
                }
            }
            DType::F16 => {
                for (v, c) in values.iter().zip(out.chunks_exact_mut(2)) {
                    c.copy_from_slice(&f16::from_f32(*v).to_bits().to_le_bytes());
                }
            }
            DType::BF16 => match bytemuck::try_cast_slice_mut::<u8, u16>(out) {
                Ok(words) if cfg!(target_endian = "little") => encode_bf16_words(values, words),
                _ => {
                    for (v, c) in values.iter().zip(out.chunks_exact_mut(2)) {
                        c.copy_from_slice(&bf16_bits_rne(*v).to_le_bytes());
                    }
                }
            },
        }
    }
}

wide_fn! {
    /// bf16 words → f32: the hottest loop of every merge of bf16 checkpoints.
    fn decode_bf16_words(words: &[u16], out: &mut [f32]) {
        for (o, &w) in out.iter_mut().zip(words) {
            *o = f32::from_bits((w as u32) << 16);
        }
    }
}

wide_fn! {
    /// f32 → bf16 words, round to nearest even.
    fn encode_bf16_words(values: &[f32], words: &mut [u16]) {
        for (w, &v) in words.iter_mut().zip(values) {
            *w = bf16_bits_rne(v);
        }
    }
}

/// f32 → bf16 bits, round to nearest even; NaN stays a (quiet) NaN. Branch-light so the loop
/// vectorises; the WGSL encoder does the same arithmetic.
#[inline(always)]
pub fn bf16_bits_rne(value: f32) -> u16 {
    let bits = value.to_bits();
    if value.is_nan() {
        return ((bits >> 16) | 0x0040) as u16;
    }
    let rounding = 0x7fff + ((bits >> 16) & 1);
    (bits.wrapping_add(rounding) >> 16) as u16
}

impl std::fmt::Display for DType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.safetensors_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bf16_rounds_to_nearest_even() {
        // 1 + 2^-8 lies exactly between two bf16 values; ties go to the even mantissa (1.0).
        let halfway = f32::from_bits(0x3F80_8000);
        let mut out = [0u8; 2];
        DType::BF16.encode(&[halfway], &mut out);
        assert_eq!(u16::from_le_bytes(out), 0x3F80);
        // Just above the midpoint rounds up.
        DType::BF16.encode(&[f32::from_bits(0x3F80_8001)], &mut out);
        assert_eq!(u16::from_le_bytes(out), 0x3F81);
    }

    #[test]
    fn bf16_encoder_agrees_with_half_everywhere_that_matters() {
        let mut x = 0x1234_5678u32;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let v = f32::from_bits(x);
            if v.is_nan() {
                assert!(f32::from_bits((bf16_bits_rne(v) as u32) << 16).is_nan());
            } else {
                assert_eq!(bf16_bits_rne(v), half::bf16::from_f32(v).to_bits(), "{v:e}");
            }
        }
        for v in [
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::MAX,
            -0.0,
            f32::MIN_POSITIVE / 3.0,
        ] {
            assert_eq!(bf16_bits_rne(v), half::bf16::from_f32(v).to_bits(), "{v:e}");
        }
    }

    #[test]
    fn every_dtype_round_trips_representable_values() {
        let values = [0.0f32, -1.5, 2.0, 0.25, -1024.0, 3.0e-3];
        for dtype in [DType::F64, DType::F32, DType::F16, DType::BF16] {
            let mut bytes = vec![0u8; values.len() * dtype.size()];
            dtype.encode(&values, &mut bytes);
            let mut back = vec![0f32; values.len()];
            dtype.decode(&bytes, &mut back);
            for (a, b) in values.iter().zip(&back) {
                let tolerance = if dtype.size() == 2 {
                    a.abs() * 1e-2
                } else {
                    0.0
                };
                assert!((a - b).abs() <= tolerance, "{dtype}: {a} vs {b}");
            }
        }
    }
}
