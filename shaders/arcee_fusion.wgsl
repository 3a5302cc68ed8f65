// `arcee_fusion` (src/merge/arcee_fusion.rs): the model's change is kept where its importance
// |x − base| · KL(row) reaches the threshold `a`. The rows' divergences (f64 softmaxes, computed
// on the host exactly as the CPU twin does) sit from word u1, one per row of u0 elements.

fn merge_one(i: u32) -> f32 {
    let base = load(0u, i);
    let delta = load(1u, i) - base;
    let divergence = bitcast<f32>(inputs[params.u1 + i / params.u0]);
    let keep = abs(delta) * divergence >= params.a;
    return base + delta * select(0.0, 1.0, keep);
}
