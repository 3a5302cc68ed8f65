// Division by a small count rounded to nearest even in integer arithmetic: WGSL's `/` may be
// 2.5 ulp off, and statistics that select elements (SCE's variances) must equal the CPU's bits.

// x / n for 1 ≤ n < 2^16, as f32 division rounds it (a subnormal quotient falls back to `/`).
fn div_count(x: f32, n: u32) -> f32 {
    let bits = bitcast<u32>(x);
    let exponent = (bits >> 23u) & 0xffu;
    if (n == 1u || exponent == 0xffu || (bits & 0x7fffffffu) == 0u) {
        return x / f32(n);
    }
    // x = m · 2^(e − 150) with m in [2^23, 2^24), subnormals renormalised.
    var m = bits & 0x7fffffu;
    var e = i32(exponent);
    if (exponent == 0u) {
        let shift = 23u - firstLeadingBit(m);
        m <<= shift;
        e = 1 - i32(shift);
    } else {
        m |= 0x800000u;
    }
    // Q = ⌊m · 2^24 / n⌋ in two long-division steps, r its remainder; Q = q1 · 2^32 + q0.
    let a = m << 8u;
    let high = a / n;
    let b = (a % n) << 16u;
    let low = b / n;
    let r = b % n;
    let q1 = high >> 16u;
    let q0 = (high << 16u) | low;
    // Keep Q's 24 leading bits: high ≥ 2^15, so the shift s lies in [8, 24].
    let s = firstLeadingBit(high) + 16u - 23u;
    var mant = (q0 >> s) | (q1 << (32u - s));
    let half = 1u << (s - 1u);
    let rest = q0 & (2u * half - 1u);
    let sticky = (rest & (half - 1u)) != 0u || r != 0u;
    if ((rest & half) != 0u && (sticky || (mant & 1u) != 0u)) {
        mant += 1u;
    }
    let biased = i32(s) + e - 24;
    if (biased <= 0) {
        return x / f32(n);
    }
    // A mantissa rounded up to 2^24 carries into the exponent by itself.
    return bitcast<f32>((bits & 0x80000000u) | ((u32(biased) << 23u) + mant - 0x800000u));
}
