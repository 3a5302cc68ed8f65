// `nuslerp` (src/merge/slerp.rs `Nuslerp::apply`): the two vectors (task vectors with a base,
// mode bit 0) combined by their vector's arc from the table, (a, b, s) with s = 0 for a lerp:
// (a·v₀ + b·v₁)/s, or (1 − t)·v₀ + t·v₁ with t = `a`; plus the base when there is one.

fn merge_one(i: u32) -> f32 {
    let v0 = vector_at(0u, i);
    let v1 = vector_at(1u, i);
    let s = table_word(i, 2u, 3u);
    var merged: f32;
    if (s == 0.0) {
        merged = (1.0 - params.a) * v0 + params.a * v1;
    } else {
        merged = (table_word(i, 0u, 3u) * v0 + table_word(i, 1u, 3u) * v1) / s;
    }
    if ((params.mode & 1u) != 0u) {
        merged += load(0u, i);
    }
    return merged;
}
