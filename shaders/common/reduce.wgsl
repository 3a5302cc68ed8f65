// Sums carried as unevaluated pairs hi + lo (~48 bits) with error-free steps, so partial sums
// merged on the host in f64 match the CPU's f64 sums: no `shader-f64` needed. Drivers may
// simplify float algebra (Mesa turns (a + b) − a into b, and `fma` into a multiply and an add),
// which would drop the error terms: every step that must round is pinned by multiplying with
// `params.c`, which the host sets to 1 and the compiler cannot see through.

fn pinned(x: f32) -> f32 {
    return x * params.c;
}

// (hi, lo) + (hi, lo) with the rounding error of the high parts carried in the low part.
fn add2(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
    let s = pinned(a.x + b.x);
    let v = pinned(s - a.x);
    let e = (a.x - pinned(s - v)) + (b.x - v);
    let lo = e + a.y + b.y;
    let hi = pinned(s + lo);
    return vec2<f32>(hi, lo - (hi - s));
}

// Veltkamp's split of x into halves of 12 significant bits, whose products are exact.
fn split(x: f32) -> vec2<f32> {
    let c = pinned(4097.0 * x);
    let high = c - pinned(c - x);
    return vec2<f32>(high, x - high);
}

// x·y exactly as hi + lo (Dekker), with no reliance on a fused `fma`.
fn product2(x: f32, y: f32) -> vec2<f32> {
    let p = pinned(x * y);
    let a = split(x);
    let b = split(y);
    let error = ((pinned(a.x * b.x - p) + a.x * b.y) + a.y * b.x) + a.y * b.y;
    return vec2<f32>(p, error);
}
