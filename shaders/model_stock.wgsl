// `model_stock` (src/merge/model_stock.rs `interpolate`): t·mean(xᵢ) + (1 − t)·base with the
// vector's ratio t from the table (one per tensor, or per row with `filter_wise`).

fn merge_one(i: u32) -> f32 {
    var sum = load(FIRST_INPUT, i);
    for (var k = 1u; k < INPUTS; k++) {
        sum += load(FIRST_INPUT + k, i);
    }
    let t = table_word(i, 0u, 1u);
    return t * (sum / f32(INPUTS)) + (1.0 - t) * load(0u, i);
}
