// `nearswap` (src/merge/nearswap.rs): w = clamp(t / max(|a − b|, 1e-6), 0, 1) with t = `a`,
// out = w·b + (1 − w)·a; a is the base (slot 0), b the other model (slot 1).

fn merge_one(i: u32) -> f32 {
    let a = load(0u, i);
    let b = load(1u, i);
    // torch evaluates `t / tensor` as reciprocal(tensor) · t.
    let w = clamp((1.0 / max(abs(a - b), 1e-6)) * params.a, 0.0, 1.0);
    return w * b + (1.0 - w) * a;
}
