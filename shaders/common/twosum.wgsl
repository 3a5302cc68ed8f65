// Compensated f32 sums: a value as an unevaluated sum hi + lo (~48 bits), so partial sums the
// host adds in f64 come close to the CPU twins' f64 sums.

// (hi, lo) + (hi, lo) with the rounding error of the high parts carried in the low part.
fn add2(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
    let s = a.x + b.x;
    let v = s - a.x;
    let e = (a.x - (s - v)) + (b.x - v);
    let lo = e + a.y + b.y;
    let hi = s + lo;
    return vec2<f32>(hi, lo - (hi - s));
}
