// Generalized task arithmetic (src/merge/gta.rs): task arithmetic, TIES, DARE, breadcrumbs.
// dᵢ = sparsify(xᵢ − base)·wᵢ; with an election (mode bits 1–2: 1 sum, 2 count) only deltas
// agreeing with the elected sign count, and so do their weights in the divisor; without, the
// divisor is `b` (Σ w, host-computed). mode bit 0: normalize. Result: base + a·mixed (a = λ).

fn sign_of(x: f32) -> f32 {
    return select(select(0.0, -1.0, x < 0.0), 1.0, x > 0.0);
}

// The weighted sparse delta of the k-th input; recomputed rather than kept in a private array
// (which spills to memory on some drivers): `load` hands back the element's prefetched values.
fn weighted_delta(k: u32, i: u32, base: f32) -> f32 {
    let slot = FIRST_INPUT + k;
    return sparse_delta(slot, i, base) * params.slots[slot].weight;
}

fn merge_one(i: u32) -> f32 {
    let base = load(0u, i);
    let election = (params.mode >> 1u) & 3u;
    var mixed = bitcast<f32>(0x80000000u); // -0.0, as the CPU starts its sum
    var divisor = params.b;
    if (election == 0u) {
        for (var k = 0u; k < INPUTS; k++) {
            mixed += weighted_delta(k, i, base);
        }
    } else {
        var score = 0.0;
        for (var k = 0u; k < INPUTS; k++) {
            let d = weighted_delta(k, i, base);
            score += select(d, sign_of(d), election == 2u);
        }
        let elected = select(-1.0, 1.0, score >= 0.0);
        mixed = 0.0;
        divisor = 0.0;
        for (var k = 0u; k < INPUTS; k++) {
            let d = weighted_delta(k, i, base);
            let agrees = sign_of(d) == elected;
            mixed += select(0.0, d, agrees);
            divisor += select(0.0, params.slots[FIRST_INPUT + k].weight, agrees);
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
