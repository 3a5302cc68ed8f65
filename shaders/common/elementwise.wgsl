// Entry point of the element-wise kernels: each invocation merges ELEMENTS_PER_INVOCATION
// elements with the kernel's `merge_one(i)` and writes them in OUT_DTYPE. Every slot's words are
// loaded first, all of them (constant slot count and dtypes: the loops unroll), so that many
// loads are in flight per invocation; `load` then hands `merge_one` its element's values.
// Element j of invocation `lid` lies j·256 elements on (f32 output: one word each), or, for a
// half output, in pair ⌊j/2⌋·256 + lid (one word for two halves: no races); either way each
// load and store instruction of a workgroup touches consecutive words.

const ELEMENTS_PER_INVOCATION: u32 = ELEMENTS_PER_WORKGROUP / 256u;
const_assert ELEMENTS_PER_INVOCATION == 8u; // `main` merges eight, one call each

// Every slot's values of an invocation's elements.
alias Loaded = array<array<f32, ELEMENTS_PER_INVOCATION>, SLOTS>;

@group(0) @binding(2) var<storage, read_write> output: array<u32>;

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
    if (OUT_DTYPE == DTYPE_F32) {
        return first + j * 256u + lid;
    }
    return first + (j >> 1u) * 512u + 2u * lid + (j & 1u);
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
    // Past the chunk's end the loads read other words (or are clamped): never stored.
    var values: Loaded;
    for (var s = 0u; s < SLOTS; s++) {
        for (var j = 0u; j < ELEMENTS_PER_INVOCATION; j += 2u) {
            if (OUT_DTYPE == DTYPE_F32) {
                values[s][j] = fetch(s, element_of(first, lid, j));
                values[s][j + 1u] = fetch(s, element_of(first, lid, j + 1u));
            } else {
                let pair = fetch_pair(s, element_of(first, lid, j) >> 1u);
                values[s][j] = pair.x;
                values[s][j + 1u] = pair.y;
            }
        }
    }
    // Spelled out rather than looped: each call's j is a constant once inlined, so `values` is
    // only ever indexed by constants and stays in registers, unrolled loop or not.
    let merged = array<f32, ELEMENTS_PER_INVOCATION>(
        merge_loaded(&values, first, lid, 0u),
        merge_loaded(&values, first, lid, 1u),
        merge_loaded(&values, first, lid, 2u),
        merge_loaded(&values, first, lid, 3u),
        merge_loaded(&values, first, lid, 4u),
        merge_loaded(&values, first, lid, 5u),
        merge_loaded(&values, first, lid, 6u),
        merge_loaded(&values, first, lid, 7u),
    );
    for (var j = 0u; j < ELEMENTS_PER_INVOCATION; j += 2u) {
        let i = element_of(first, lid, j);
        if (OUT_DTYPE == DTYPE_F32) {
            let next = element_of(first, lid, j + 1u);
            if (i < params.len) {
                output[i] = bitcast<u32>(merged[j]);
            }
            if (next < params.len) {
                output[next] = bitcast<u32>(merged[j + 1u]);
            }
        } else if (i < params.len) {
            var word = encode_half(OUT_DTYPE, merged[j]);
            if (i + 1u < params.len) {
                word |= encode_half(OUT_DTYPE, merged[j + 1u]) << 16u;
            }
            output[i >> 1u] = word;
        }
    }
}
