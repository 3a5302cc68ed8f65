// `ram` (src/merge/ram.rs): deltas larger than ε = `a` in magnitude are kept, a lone one whole,
// several each divided by their count: out = base + Σ [|δₖ| > ε]·δₖ / max(1, #kept).

fn merge_one(i: u32) -> f32 {
    let base = load(0u, i);
    var count = 0u;
    for (var k = 0u; k < INPUTS; k++) {
        count += u32(abs(load(FIRST_INPUT + k, i) - base) > params.a);
    }
    var merged = 0.0;
    for (var k = 0u; k < INPUTS; k++) {
        let delta = load(FIRST_INPUT + k, i) - base;
        if (abs(delta) > params.a) {
            merged += div_count(delta, count);
        }
    }
    return base + merged;
}
