//! The 32-value block formats: Q4_0, Q4_1, Q5_0, Q5_1 (4/5-bit, scale / scale + min) and Q8_0.
//! In the 4/5-bit ones, byte j holds value j in its low nibble and value j + 16 in its high one;
//! the 5-bit ones add bit j of a u32 `qh` as value j's fifth bit.

use super::f16_at;

/// `d: f16, qs: [u8; 16]` → `(q - 8) × d`.
pub fn q4_0(block: &[u8], out: &mut [f32]) {
    let d = f16_at(block, 0);
    for (j, &byte) in block[2..18].iter().enumerate() {
        out[j] = ((byte & 0x0f) as i32 - 8) as f32 * d;
        out[j + 16] = ((byte >> 4) as i32 - 8) as f32 * d;
    }
}

/// `d: f16, m: f16, qs: [u8; 16]` → `q × d + m`.
pub fn q4_1(block: &[u8], out: &mut [f32]) {
    let d = f16_at(block, 0);
    let m = f16_at(block, 2);
    for (j, &byte) in block[4..20].iter().enumerate() {
        out[j] = d * (byte & 0x0f) as f32 + m;
        out[j + 16] = d * (byte >> 4) as f32 + m;
    }
}

/// The 5-bit values of a Q5 block: low nibbles from `qs`, fifth bits from `qh`.
fn five_bit(qh: &[u8], qs: &[u8], out: &mut [u8; 32]) {
    let qh = u32::from_le_bytes([qh[0], qh[1], qh[2], qh[3]]);
    for (j, &byte) in qs.iter().enumerate() {
        out[j] = (byte & 0x0f) | ((((qh >> j) & 1) as u8) << 4);
        out[j + 16] = (byte >> 4) | ((((qh >> (j + 16)) & 1) as u8) << 4);
    }
}

/// `d: f16, qh: u32, qs: [u8; 16]` → `(q - 16) × d`.
pub fn q5_0(block: &[u8], out: &mut [f32]) {
    let d = f16_at(block, 0);
    let mut q = [0u8; 32];
    five_bit(&block[2..6], &block[6..22], &mut q);
    for (value, &q) in out.iter_mut().zip(&q) {
        *value = d * (q as i32 - 16) as f32;
    }
}

/// `d: f16, m: f16, qh: u32, qs: [u8; 16]` → `q × d + m`.
pub fn q5_1(block: &[u8], out: &mut [f32]) {
    let (d, m) = (f16_at(block, 0), f16_at(block, 2));
    let mut q = [0u8; 32];
    five_bit(&block[4..8], &block[8..24], &mut q);
    for (value, &q) in out.iter_mut().zip(&q) {
        *value = d * q as f32 + m;
    }
}

/// `d: f16, qs: [i8; 32]` → `q × d`.
pub fn q8_0(block: &[u8], out: &mut [f32]) {
    let d = f16_at(block, 0);
    for (value, &q) in out.iter_mut().zip(&block[2..34]) {
        *value = d * (q as i8) as f32;
    }
}
