// Element codecs: tensors travel as u32 words (one f32, or two f16/bf16 halves, low half first).
// Decoding is exact; encoding rounds to nearest even, bit-identical to src/dtype.rs (`half` for
// f16, `bf16_bits_rne` for bf16). Bit manipulation only: no `shader-f16`, no float rounding modes.

const DTYPE_F32: u32 = 0u;
const DTYPE_F16: u32 = 1u;
const DTYPE_BF16: u32 = 2u;

fn f16_bits_to_f32(h: u32) -> f32 {
    let sign = (h & 0x8000u) << 16u;
    let exp = (h >> 10u) & 0x1fu;
    let man = h & 0x3ffu;
    if (exp == 0x1fu) {
        // Infinity keeps a zero mantissa; NaN is quieted, as `half` does.
        return bitcast<f32>(sign | 0x7f800000u | select(0u, 0x00400000u, man != 0u) | (man << 13u));
    }
    if (exp == 0u) {
        if (man == 0u) {
            return bitcast<f32>(sign);
        }
        // Subnormal man·2⁻²⁴ is a normal f32: renormalise around its leading bit.
        let p = firstLeadingBit(man);
        return bitcast<f32>(sign | ((p + 103u) << 23u) | ((man << (23u - p)) & 0x7fffffu));
    }
    return bitcast<f32>(sign | ((exp + 112u) << 23u) | (man << 13u));
}

fn f32_to_f16_bits(value: f32) -> u32 {
    let x = bitcast<u32>(value);
    let sign = (x & 0x80000000u) >> 16u;
    let exp = x & 0x7f800000u;
    let man = x & 0x007fffffu;
    if (exp == 0x7f800000u) {
        return sign | 0x7c00u | select(0u, 0x0200u, man != 0u) | (man >> 13u);
    }
    let half_exp = i32(exp >> 23u) - 127 + 15;
    if (half_exp >= 0x1f) {
        return sign | 0x7c00u;
    }
    if (half_exp <= 0) {
        if (14 - half_exp > 24) {
            return sign;
        }
        let full = man | 0x00800000u;
        let shift = u32(14 - half_exp);
        var half_man = full >> shift;
        let round_bit = 1u << (shift - 1u);
        if ((full & round_bit) != 0u && (full & (3u * round_bit - 1u)) != 0u) {
            half_man += 1u;
        }
        return sign | half_man;
    }
    let assembled = sign | (u32(half_exp) << 10u) | (man >> 13u);
    let round_bit = 0x1000u;
    if ((man & round_bit) != 0u && (man & (3u * round_bit - 1u)) != 0u) {
        return assembled + 1u;
    }
    return assembled;
}

fn bf16_bits_to_f32(h: u32) -> f32 {
    return bitcast<f32>(h << 16u);
}

fn f32_to_bf16_bits(value: f32) -> u32 {
    let bits = bitcast<u32>(value);
    if ((bits & 0x7f800000u) == 0x7f800000u && (bits & 0x007fffffu) != 0u) {
        return (bits >> 16u) | 0x0040u;
    }
    return (bits + 0x7fffu + ((bits >> 16u) & 1u)) >> 16u;
}

/// Element `i` of a slot starting at word `offset`, stored in `dtype`, from its word.
fn decode_half(dtype: u32, word: u32, i: u32) -> f32 {
    let h = (word >> ((i & 1u) * 16u)) & 0xffffu;
    if (dtype == DTYPE_BF16) {
        return bf16_bits_to_f32(h);
    }
    return f16_bits_to_f32(h);
}

fn encode_half(dtype: u32, value: f32) -> u32 {
    if (dtype == DTYPE_BF16) {
        return f32_to_bf16_bits(value);
    }
    return f32_to_f16_bits(value);
}
