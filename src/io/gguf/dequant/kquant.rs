//! The 256-value "k-quant" super-blocks: Q2_K (sixteen sub-blocks of 16, 4-bit scales and
//! mins), Q3_K (sixteen of 16, 6-bit scales), Q4_K and Q5_K (eight of 32, 6-bit scales and
//! mins) and Q6_K (sixteen of 16, 8-bit scales).

use super::f16_at;

const SCALES: usize = 12;

/// The 2-bit field of value `e` (0..256) in 64 bytes of `qs`: each half of 128 values takes 32
/// bytes, four values per byte, the lowest bits first.
fn two_bits(qs: &[u8], e: usize) -> u8 {
    let (half, shift, l) = (e / 128, (e % 128) / 32, e % 32);
    (qs[32 * half + l] >> (2 * shift)) & 3
}

/// `scales: [u8; 16] (scale | min << 4), qs: [u8; 64], d, dmin: f16` → `d·scale × q − dmin·min`.
pub fn q2_k(block: &[u8], out: &mut [f32]) {
    let (scales, qs) = (&block[..16], &block[16..80]);
    let (d, dmin) = (f16_at(block, 80), f16_at(block, 82));
    for (e, value) in out.iter_mut().enumerate() {
        let packed = scales[e / 16];
        let (d_sub, m_sub) = (d * (packed & 0x0f) as f32, dmin * (packed >> 4) as f32);
        *value = d_sub * two_bits(qs, e) as f32 - m_sub;
    }
}

/// `hmask: [u8; 32], qs: [u8; 64], scales: [u8; 12] (sixteen 6-bit, offset 32), d: f16`. Bit
/// `e / 32` of `hmask[e % 32]` clear means value `e` is 4 lower; value = `d·scale × q`.
pub fn q3_k(block: &[u8], out: &mut [f32]) {
    let (hmask, qs, packed) = (&block[..32], &block[32..96], &block[96..108]);
    let d = f16_at(block, 108);
    let scale = |k: usize| {
        let low = (packed[k % 8] >> (4 * (k / 8))) & 0x0f;
        let high = (packed[8 + k % 4] >> (2 * (k / 4))) & 3;
        ((low | (high << 4)) as i32 - 32) as f32
    };
    let scales: [f32; 16] = std::array::from_fn(scale);
    for (e, value) in out.iter_mut().enumerate() {
        let high_clear = (hmask[e % 32] >> (e / 32)) & 1 == 0;
        let q = two_bits(qs, e) as i32 - if high_clear { 4 } else { 0 };
        *value = (d * scales[e / 16]) * q as f32;
    }
}

/// Sub-block `j`'s 6-bit scale and min, packed into 12 bytes as ggml's `get_scale_min_k4`.
fn scale_min(scales: &[u8], j: usize) -> (u8, u8) {
    if j < 4 {
        (scales[j] & 63, scales[j + 4] & 63)
    } else {
        let scale = (scales[j + 4] & 0x0f) | ((scales[j - 4] >> 6) << 4);
        let min = (scales[j + 4] >> 4) | ((scales[j] >> 6) << 4);
        (scale, min)
    }
}

/// `d, dmin: f16, scales: [u8; 12], qs: [u8; 128]`; each 32 bytes of `qs` hold sub-block 2i in
/// their low nibbles and 2i + 1 in their high ones. Value = `d·scale × q − dmin·min`.
pub fn q4_k(block: &[u8], out: &mut [f32]) {
    let (d, dmin) = (f16_at(block, 0), f16_at(block, 2));
    let scales = &block[4..4 + SCALES];
    let qs = &block[4 + SCALES..4 + SCALES + 128];
    for (sub, values) in out.chunks_exact_mut(32).enumerate() {
        let (scale, min) = scale_min(scales, sub);
        let (d_sub, m_sub) = (d * scale as f32, dmin * min as f32);
        let shift = 4 * (sub % 2);
        for (value, &byte) in values.iter_mut().zip(&qs[32 * (sub / 2)..][..32]) {
            *value = d_sub * ((byte >> shift) & 0x0f) as f32 - m_sub;
        }
    }
}

/// Q4_K plus `qh: [u8; 32]` between scales and qs: bit `sub` of `qh[l]` is the fifth bit of
/// value `l` of sub-block `sub`.
pub fn q5_k(block: &[u8], out: &mut [f32]) {
    let (d, dmin) = (f16_at(block, 0), f16_at(block, 2));
    let scales = &block[4..4 + SCALES];
    let qh = &block[4 + SCALES..4 + SCALES + 32];
    let qs = &block[4 + SCALES + 32..4 + SCALES + 32 + 128];
    for (sub, values) in out.chunks_exact_mut(32).enumerate() {
        let (scale, min) = scale_min(scales, sub);
        let (d_sub, m_sub) = (d * scale as f32, dmin * min as f32);
        let shift = 4 * (sub % 2);
        let low = &qs[32 * (sub / 2)..][..32];
        for (l, value) in values.iter_mut().enumerate() {
            let q = ((low[l] >> shift) & 0x0f) | (((qh[l] >> sub) & 1) << 4);
            *value = d_sub * q as f32 - m_sub;
        }
    }
}

/// `ql: [u8; 128], qh: [u8; 64], scales: [i8; 16], d: f16`. Each half of 128 values takes 64
/// bytes of `ql` (low nibbles, then high) and 32 of `qh` (two bits per value); value =
/// `d·scale × (q − 32)`, one scale per 16 values.
pub fn q6_k(block: &[u8], out: &mut [f32]) {
    let (ql, qh, scales) = (&block[..128], &block[128..192], &block[192..208]);
    let d = f16_at(block, 208);
    for (group, values) in out.chunks_exact_mut(32).enumerate() {
        let half = group / 4;
        let low = &ql[64 * half + 32 * (group % 2)..][..32];
        let low_shift = 4 * ((group / 2) % 2);
        let high = &qh[32 * half..][..32];
        let high_shift = 2 * (group % 4);
        for (l, value) in values.iter_mut().enumerate() {
            let q = ((low[l] >> low_shift) & 0x0f) | (((high[l] >> high_shift) & 3) << 4);
            let scale = scales[(32 * group + l) / 16] as i8 as f32;
            *value = (d * scale) * (q as i32 - 32) as f32;
        }
    }
}
