//! The 32-value block formats: Q4_0, Q4_1 (4-bit, scale / scale + min) and Q8_0 (8-bit).
//! In the 4-bit ones, byte j holds value j in its low nibble and value j + 16 in its high one.

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

/// `d: f16, qs: [i8; 32]` → `q × d`.
pub fn q8_0(block: &[u8], out: &mut [f32]) {
    let d = f16_at(block, 0);
    for (value, &q) in out.iter_mut().zip(&block[2..34]) {
        *value = d * (q as i8) as f32;
    }
}
