// Which deltas a sparsifier keeps, per element: the twin of src/merge/sparsify/ (Bernoulli and
// MagnitudeWindow `apply`); the cuts and factors come from the statistics passes on the host.

fn magnitude_key(x: f32) -> u32 {
    return bitcast<u32>(x) & 0x7fffffffu;
}

// `RankCut::contains`: cut indices are clamped to u32 (tensors index below 2³²).
fn in_cut(key: u32, index: u32, cut_key: u32, cut_index: u32) -> bool {
    return key > cut_key || (key == cut_key && index < cut_index);
}

// The sparsifier kind of a slot is a constant of the variant (SLOT_SPARSIFY, the twin of
// `Slot::sparsify`): with a constant slot the other kinds' branches fold away.
fn keeps(slot: u32, delta: f32, index: u32) -> bool {
    let s = params.slots[slot];
    let sparsify = SLOT_SPARSIFY[slot];
    // DELLA: the rank pass left rank | keep << 31 per chunk element at word `cut_to_index`.
    if (sparsify == 3u) {
        return (inputs[s.cut_to_index + index - params.start] >> 31u) != 0u;
    }
    if (sparsify == 1u) {
        return stream_uniform(s.stream, index) < s.density;
    }
    if (sparsify == 2u) {
        let key = magnitude_key(delta);
        return in_cut(key, index, s.cut_to_key, s.cut_to_index)
            && !in_cut(key, index, s.cut_from_key, s.cut_from_index);
    }
    return true;
}

// The sparsified, unweighted delta of `slot` against the base (slot 0).
fn sparse_delta(slot: u32, i: u32, base: f32) -> f32 {
    let delta = load(slot, i) - base;
    let sparsify = SLOT_SPARSIFY[slot];
    if (sparsify == 0u) {
        return delta;
    }
    let s = params.slots[slot];
    var scale = s.factor;
    if (sparsify == 3u && s.cut_from_key != 0u) {
        // DELLA's `inverse` rescale: 1/p of the element's rank, from the table at `cut_from_key`.
        scale = bitcast<f32>(inputs[s.cut_from_key + (inputs[s.cut_to_index + i] & 0x7fffffffu)]);
    }
    return select(0.0, delta * scale, keeps(slot, delta, params.start + i));
}
