//! The 256-value "k-quant" super-blocks: Q4_K and Q5_K (eight sub-blocks of 32 with 6-bit
//! scales and mins) and Q6_K (sixteen sub-blocks of 16 with 8-bit scales).

use super::f16_at;

const SCALES: usize = 12;

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
