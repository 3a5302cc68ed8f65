// Population variance of one element across the task vectors δₖ = xₖ − base (slots
// first_input.., `count` of them), bit-identical to src/merge/sce.rs `variances`: f32 sums in
// input order (Rust's starting at −0.0), `div_count` divisions, and each square multiplied by
// `one` (a runtime 1.0) so that no driver fuses it with the sum into an FMA.

fn task_delta(k: u32, i: u32, base: f32) -> f32 {
    return load(FIRST_INPUT + k, i) - base;
}

fn variance(i: u32, base: f32, one: f32) -> f32 {
    var sum = bitcast<f32>(0x80000000u);
    for (var k = 0u; k < INPUTS; k++) {
        sum += task_delta(k, i, base);
    }
    let mean = div_count(sum, INPUTS);
    var squares = bitcast<f32>(0x80000000u);
    for (var k = 0u; k < INPUTS; k++) {
        let t = task_delta(k, i, base) - mean;
        squares += (t * t) * one;
    }
    return div_count(squares, INPUTS);
}

// Whether element i (variance v) survives SCE's selection: mode 0 all, 1 none, 2 the top-k
// rank cut (u0, u1) as `in_cut` tests it.
fn sce_selected(i: u32, base: f32) -> bool {
    if (params.mode != 2u) {
        return params.mode == 0u;
    }
    let key = magnitude_key(variance(i, base, params.c));
    return in_cut(key, params.start + i, params.u0, params.u1);
}
