// A fixed combination of the vectors (src/merge/stats.rs `combine`), the apply step of `slerp`
// (vectors base and other), `multislerp` (task vectors, plus the base) and `karcher` (the
// inputs): Σ cₖ·vₖ in f32 in input order with cₖ = slot weights, plus the base when mode bit 1.

fn merge_one(i: u32) -> f32 {
    var sum = vector_at(0u, i) * params.slots[FIRST_INPUT].weight;
    for (var k = 1u; k < INPUTS; k++) {
        sum += vector_at(k, i) * params.slots[FIRST_INPUT + k].weight;
    }
    if ((params.mode & 2u) != 0u) {
        return load(0u, i) + sum;
    }
    return sum;
}
