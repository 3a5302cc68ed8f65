// Entry point of the element-wise kernels: each invocation merges ELEMENTS_PER_INVOCATION
// consecutive elements with the kernel's `merge_one(i)` and writes them in OUT_DTYPE. Inputs
// and output move in 16-byte words (a half slot's eight elements are one, an f32 slot's two):
// a quarter of the load and store instructions of 4-byte words, and each instruction of a
// workgroup still touches consecutive memory. Every slot's words are loaded first, all of them
// (constant slot count and dtypes: the loops unroll), so that many loads are in flight per
// invocation; `load` then hands `merge_one` its element's values. Slot regions start at
// 16-byte marks (`Params::check_quad_aligned` on the host); past the chunk's end loads read
// other words, and only whole words holding a chunk element are stored.

const ELEMENTS_PER_INVOCATION: u32 = ELEMENTS_PER_WORKGROUP / 256u;
const_assert ELEMENTS_PER_INVOCATION == 8u; // `main` merges eight, one call each

// Every slot's values of an invocation's elements.
alias Loaded = array<array<f32, ELEMENTS_PER_INVOCATION>, SLOTS>;

@group(0) @binding(2) var<storage, read_write> output: array<vec4<u32>>;
// The input buffer of binding 1, in 16-byte words (the same buffer, bound twice).
@group(0) @binding(3) var<storage, read> input_quads: array<vec4<u32>>;

// The slot values of the element `merge_one` is merging, set by `main` before each call.
var<private> current: array<f32, SLOTS>;

// Slot `slot` of the element being merged (`i` is that element: kernels read no other).
fn load(slot: u32, i: u32) -> f32 {
    return current[slot];
}

// Element j of the invocation, merged from its loaded values.
fn merge_loaded(values: ptr<function, Loaded>, first: u32, lid: u32, j: u32) -> f32 {
    for (var s = 0u; s < SLOTS; s++) {
        current[s] = (*values)[s][j];
    }
    return merge_one(element_of(first, lid, j));
}

// Chunk index of element j of invocation `lid` in the workgroup starting at element `first`.
fn element_of(first: u32, lid: u32, j: u32) -> u32 {
    return first + lid * ELEMENTS_PER_INVOCATION + j;
}

// The 16-byte word of `slot` holding element `i` (a multiple of 4 for f32, of 8 for halves).
fn quad_of(slot: u32, i: u32) -> vec4<u32> {
    let per_quad = select(8u, 4u, slot_dtype(slot) == DTYPE_F32);
    return input_quads[params.slots[slot].offset / 4u + i / per_quad];
}

// The two halves of a word, decoded in the slot's dtype.
fn halves(slot: u32, word: u32) -> vec2<f32> {
    let dtype = slot_dtype(slot);
    return vec2<f32>(decode_half(dtype, word, 0u), decode_half(dtype, word, 1u));
}

@compute @workgroup_size(256)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let first = workgroup_index(wid, nwg) * ELEMENTS_PER_WORKGROUP;
    if (first >= params.len) {
        return;
    }
    let at = element_of(first, lid, 0u);
    var values: Loaded;
    for (var s = 0u; s < SLOTS; s++) {
        if (slot_dtype(s) == DTYPE_F32) {
            let low = bitcast<vec4<f32>>(quad_of(s, at));
            let high = bitcast<vec4<f32>>(quad_of(s, at + 4u));
            values[s] = array<f32, ELEMENTS_PER_INVOCATION>(
                low.x, low.y, low.z, low.w, high.x, high.y, high.z, high.w,
            );
        } else {
            let word = quad_of(s, at);
            let a = halves(s, word.x);
            let b = halves(s, word.y);
            let c = halves(s, word.z);
            let d = halves(s, word.w);
            values[s] = array<f32, ELEMENTS_PER_INVOCATION>(a.x, a.y, b.x, b.y, c.x, c.y, d.x, d.y);
        }
    }
    // Spelled out rather than looped: each call's j is a constant once inlined, so `values` is
    // only ever indexed by constants and stays in registers, unrolled loop or not.
    let m = array<f32, ELEMENTS_PER_INVOCATION>(
        merge_loaded(&values, first, lid, 0u),
        merge_loaded(&values, first, lid, 1u),
        merge_loaded(&values, first, lid, 2u),
        merge_loaded(&values, first, lid, 3u),
        merge_loaded(&values, first, lid, 4u),
        merge_loaded(&values, first, lid, 5u),
        merge_loaded(&values, first, lid, 6u),
        merge_loaded(&values, first, lid, 7u),
    );
    if (at >= params.len) {
        return;
    }
    if (OUT_DTYPE == DTYPE_F32) {
        let quad = at / 4u;
        output[quad] = bitcast<vec4<u32>>(vec4<f32>(m[0], m[1], m[2], m[3]));
        if (at + 4u < params.len) {
            output[quad + 1u] = bitcast<vec4<u32>>(vec4<f32>(m[4], m[5], m[6], m[7]));
        }
    } else {
        output[at / 8u] = vec4<u32>(
            encode_pair(m[0], m[1]),
            encode_pair(m[2], m[3]),
            encode_pair(m[4], m[5]),
            encode_pair(m[6], m[7]),
        );
    }
}

// Two merged values in one word of halves, the first in the low bits.
fn encode_pair(low: f32, high: f32) -> u32 {
    return encode_half(OUT_DTYPE, low) | (encode_half(OUT_DTYPE, high) << 16u);
}
