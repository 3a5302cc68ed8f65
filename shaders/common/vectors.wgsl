// The vectors of the geometric methods (src/merge/stats.rs `VectorLayout`): vector k is slot
// first_input + k, minus the base (slot 0) when mode bit 0 is set, as `task_vectors` does.
// Per-vector coefficients sit in a table in `inputs` from word u2 on, a fixed number of words each.

fn vector_at(k: u32, i: u32) -> f32 {
    let x = load(FIRST_INPUT + k, i);
    if ((params.mode & 1u) != 0u) {
        return x - load(0u, i);
    }
    return x;
}

// The table entry of chunk element i: u0 = 0 for rows of u1 elements (a flat tensor is one
// row), 1 for columns of stride u1 (entry j holds column (start + j) mod u1).
fn vector_entry(i: u32) -> u32 {
    if (params.u0 == 1u) {
        return i % params.u1;
    }
    return (params.start + i) / params.u1 - params.start / params.u1;
}

fn table_word(i: u32, word: u32, stride: u32) -> f32 {
    return bitcast<f32>(inputs[params.u2 + stride * vector_entry(i) + word]);
}
