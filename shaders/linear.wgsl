// `linear` (src/merge/linear.rs): Σ wᵢ·xᵢ in input order, ÷ `a` (1 without normalize).

fn merge_one(i: u32) -> f32 {
    var o = 0.0;
    for (var k = 0u; k < INPUTS; k++) {
        let slot = FIRST_INPUT + k;
        o += load(slot, i) * params.slots[slot].weight;
    }
    if (params.a != 1.0) {
        o /= params.a;
    }
    return o;
}
