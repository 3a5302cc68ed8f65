// `sce` (src/merge/sce.rs): elements outside the variance top-k (`sce_selected`) keep the base;
// the others elect a sign by Σ δₖ and average the agreeing deltas with the slot weights
// (wₖ ∝ mean δₖ², host-computed): out = base + Σ wₖδₖ / max(Σ wₖ, 1e-6) over agreeing k.

fn sign_of(x: f32) -> f32 {
    return select(select(0.0, -1.0, x < 0.0), 1.0, x > 0.0);
}

fn merge_one(i: u32) -> f32 {
    let base = load(0u, i);
    if (!sce_selected(i, base)) {
        return base + 0.0;
    }
    var score = bitcast<f32>(0x80000000u);
    for (var k = 0u; k < INPUTS; k++) {
        score += task_delta(k, i, base);
    }
    let elected = select(-1.0, 1.0, score >= 0.0);
    var merged = 0.0;
    var divisor = 0.0;
    for (var k = 0u; k < INPUTS; k++) {
        let d = task_delta(k, i, base);
        let w = select(0.0, params.slots[FIRST_INPUT + k].weight, sign_of(d) == elected);
        merged += d * w;
        divisor += w;
    }
    return base + merged / max(divisor, 1e-6);
}
