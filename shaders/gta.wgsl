// Generalized task arithmetic (src/merge/gta.rs): task arithmetic, TIES, DARE, breadcrumbs.
// dᵢ = sparsify(xᵢ − base)·wᵢ; with an election (mode bits 1–2: 1 sum, 2 count) only deltas
// agreeing with the elected sign count, and so do their weights in the divisor; without, the
// divisor is `b` (Σ w, host-computed). mode bit 0: normalize. Result: base + a·mixed (a = λ).

const MAX_INPUTS: u32 = 16u;

fn sign_of(x: f32) -> f32 {
    return select(select(0.0, -1.0, x < 0.0), 1.0, x > 0.0);
}

fn merge_one(i: u32) -> f32 {
    let base = load(0u, i);
    var d: array<f32, MAX_INPUTS>;
    for (var k = 0u; k < params.count; k++) {
        let slot = params.first_input + k;
        d[k] = sparse_delta(slot, i, base) * params.slots[slot].weight;
    }
    let election = (params.mode >> 1u) & 3u;
    var mixed = bitcast<f32>(0x80000000u); // -0.0, as the CPU starts its sum
    var divisor = params.b;
    if (election == 0u) {
        for (var k = 0u; k < params.count; k++) {
            mixed += d[k];
        }
    } else {
        var score = 0.0;
        for (var k = 0u; k < params.count; k++) {
            score += select(d[k], sign_of(d[k]), election == 2u);
        }
        let elected = select(-1.0, 1.0, score >= 0.0);
        mixed = 0.0;
        divisor = 0.0;
        for (var k = 0u; k < params.count; k++) {
            let agrees = sign_of(d[k]) == elected;
            mixed += select(0.0, d[k], agrees);
            divisor += select(0.0, params.slots[params.first_input + k].weight, agrees);
        }
        if (divisor == 0.0) {
            divisor = 1.0;
        }
    }
    if ((params.mode & 1u) != 0u) {
        mixed /= divisor;
    }
    if (params.a != 1.0) {
        mixed *= params.a;
    }
    return base + mixed;
}
