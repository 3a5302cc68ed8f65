// The chunk every kernel reads: a header of scalars, then one `Slot` per uploaded input. Inputs
// share one word buffer, each slot's chunk starting at its own word offset (base first, if any).
// Layout mirrored by `src/gpu/params.rs`.

struct Slot {
    offset: u32,
    dtype: u32,
    weight: f32,
    // Scale of kept elements (sparsifiers); 1 otherwise.
    factor: f32,
    density: f32,
    // Random stream key (`Stream::new(seed, tensor_key, input)`).
    stream: u32,
    // 0 dense, 1 bernoulli, 2 magnitude window, 3 DELLA (see common/sparsify.wgsl); kernels
    // read it as the constant SLOT_SPARSIFY of their variant.
    sparsify: u32,
    cut_to_key: u32,
    cut_to_index: u32,
    cut_from_key: u32,
    cut_from_index: u32,
    reserved: u32,
}

struct Params {
    // Elements in this chunk, and the tensor index of its first one.
    len: u32,
    start: u32,
    // Non-base inputs, and the slot of the first one (1 when slot 0 holds the base); kernels
    // read them as the constants INPUTS and FIRST_INPUT of their variant.
    count: u32,
    first_input: u32,
    // Kernel-specific scalars.
    a: f32,
    b: f32,
    c: f32,
    mode: u32,
    u0: u32,
    u1: u32,
    u2: u32,
    u3: u32,
    slots: array<Slot>,
}

@group(0) @binding(0) var<storage, read> params: Params;
@group(0) @binding(1) var<storage, read> inputs: array<u32>;

// A pipeline variant fixes SLOTS, SLOT_DTYPES, SLOT_SPARSIFY, INPUTS (= `count`),
// FIRST_INPUT (= `first_input`) and OUT_DTYPE as constants (src/gpu/shaders.rs `Variant`):
// with a constant slot, the dtype branches below fold away.
fn slot_dtype(slot: u32) -> u32 {
    return SLOT_DTYPES[slot];
}

// Element i of a slot, straight from memory.
fn fetch(slot: u32, i: u32) -> f32 {
    let offset = params.slots[slot].offset;
    let dtype = slot_dtype(slot);
    if (dtype == DTYPE_F32) {
        return bitcast<f32>(inputs[offset + i]);
    }
    return decode_half(dtype, inputs[offset + (i >> 1u)], i);
}

// Elements 2p and 2p + 1 of a slot: one word of halves, two words of f32.
fn fetch_pair(slot: u32, p: u32) -> vec2<f32> {
    let offset = params.slots[slot].offset;
    let dtype = slot_dtype(slot);
    if (dtype == DTYPE_F32) {
        return vec2<f32>(bitcast<f32>(inputs[offset + 2u * p]), bitcast<f32>(inputs[offset + 2u * p + 1u]));
    }
    let word = inputs[offset + p];
    return vec2<f32>(decode_half(dtype, word, 0u), decode_half(dtype, word, 1u));
}

// Workgroups run 256 invocations over a 2-D grid (≤ 65535 per dimension).
fn workgroup_index(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wid.y * nwg.x + wid.x;
}
