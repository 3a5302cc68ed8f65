// Sums carried as unevaluated pairs hi + lo (~48 bits) with error-free steps, so partial sums
// merged on the host in f64 match the CPU's f64 sums: no `shader-f64` needed.

// (hi, lo) + (hi, lo) with the rounding error of the high parts carried in the low part.
fn add2(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
    let s = a.x + b.x;
    let v = s - a.x;
    let e = (a.x - (s - v)) + (b.x - v);
    let lo = e + a.y + b.y;
    let hi = s + lo;
    return vec2<f32>(hi, lo - (hi - s));
}

// x·y as hi + lo: exact where `fma` is fused (it is on the GPUs and CPU drivers we know).
fn product2(x: f32, y: f32) -> vec2<f32> {
    let p = x * y;
    return vec2<f32>(p, fma(x, y, -p));
}
