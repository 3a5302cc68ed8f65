// `passthrough` (src/merge/passthrough.rs): slot 0 times `a` (the scale).

fn merge_one(i: u32) -> f32 {
    let x = load(0u, i);
    if (params.a == 1.0) {
        return x;
    }
    return x * params.a;
}
