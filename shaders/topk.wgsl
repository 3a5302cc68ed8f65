// Exact rank cuts by |δ| (src/merge/sparsify/topk.rs), as a radix select over the 31 bits of
// |δ| in digits of 11, 11 and 9 bits, then the tie cut-off by index. Slot `mode` against the base.
//  histogram: counts digit (key >> u0) & (2^u1 − 1) of elements whose higher bits equal u2, in
//             workgroup-local bins merged into `stats` by atomics;
//  histogram_global: the same counts straight into `stats`, for software adapters: SwiftShader
//             runs workgroups one by one, and building a kernel with 2048 workgroup bins costs it
//             ~175 MB and ~1 s (256 bins: 14 MB), running one ~10× the global atomics' time;
//  count_key: per 512-element block, elements whose key equals u0 (into stats[block]);
//  locate:    one workgroup on one block: chunk index of the u1-th element with key u0 → stats[0].

const BINS: u32 = 2048u;
// The histograms' ELEMENTS_PER_WORKGROUP is 512 · PAIRS_PER_INVOCATION; this file's other
// entries have their own, so the histograms' is spelled out here.
const PAIRS_PER_INVOCATION: u32 = 8u;

@group(0) @binding(2) var<storage, read_write> stats: array<atomic<u32>>;

var<workgroup> bins: array<atomic<u32>, BINS>;
var<workgroup> scan: array<u32, 256>;

fn key_at(i: u32) -> u32 {
    // u3 = 1: slot `mode` holds the keys' values themselves (SCE's variances), not deltas.
    if (params.u3 == 1u) {
        return magnitude_key(load(params.mode, i));
    }
    return magnitude_key(load(params.mode, i) - load(0u, i));
}

/// The bin of digit `key` of element `i`, or BINS when it is outside the chunk or the prefix.
fn digit_bin(i: u32, key: u32) -> u32 {
    if (i >= params.len) {
        return BINS;
    }
    // Shifting by 31 leaves 0 for every key: the first digit counts all elements.
    if ((key >> (params.u0 + params.u1)) != params.u2) {
        return BINS;
    }
    return (key >> params.u0) & ((1u << params.u1) - 1u);
}

/// The bins of the 2 × PAIRS_PER_INVOCATION elements of invocation `lid`: pairs j·256 + lid of
/// its workgroup's (one word of halves each, so each load instruction reads consecutive words),
/// all loaded before any is counted.
fn invocation_bins(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> array<u32, 2u * PAIRS_PER_INVOCATION> {
    let first = workgroup_index(wid, nwg) * 256u * PAIRS_PER_INVOCATION;
    var found: array<u32, 2u * PAIRS_PER_INVOCATION>;
    for (var j = 0u; j < PAIRS_PER_INVOCATION; j++) {
        let p = first + j * 256u + lid;
        // Both slots are read whatever u3 says: no branch between the loads.
        let x = fetch_pair(params.mode, p);
        let base = fetch_pair(0u, p);
        let delta = vec2<u32>(magnitude_key(x.x - base.x), magnitude_key(x.y - base.y));
        let value = vec2<u32>(magnitude_key(x.x), magnitude_key(x.y));
        let keys = select(delta, value, params.u3 == 1u);
        found[2u * j] = digit_bin(2u * p, keys.x);
        found[2u * j + 1u] = digit_bin(2u * p + 1u, keys.y);
    }
    return found;
}

@compute @workgroup_size(256)
fn histogram(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    for (var b = lid; b < BINS; b += 256u) {
        atomicStore(&bins[b], 0u);
    }
    let found = invocation_bins(wid, nwg, lid);
    workgroupBarrier();
    for (var j = 0u; j < 2u * PAIRS_PER_INVOCATION; j++) {
        if (found[j] < BINS) {
            atomicAdd(&bins[found[j]], 1u);
        }
    }
    workgroupBarrier();
    for (var b = lid; b < BINS; b += 256u) {
        let n = atomicLoad(&bins[b]);
        if (n != 0u) {
            atomicAdd(&stats[b], n);
        }
    }
}

@compute @workgroup_size(256)
fn histogram_global(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let found = invocation_bins(wid, nwg, lid);
    for (var j = 0u; j < 2u * PAIRS_PER_INVOCATION; j++) {
        if (found[j] < BINS) {
            atomicAdd(&stats[found[j]], 1u);
        }
    }
}

@compute @workgroup_size(256)
fn count_key(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let block = workgroup_index(wid, nwg);
    var n = 0u;
    for (var e = 0u; e < 2u; e++) {
        let i = block * 512u + e * 256u + lid;
        if (i < params.len && key_at(i) == params.u0) {
            n += 1u;
        }
    }
    if (n != 0u) {
        atomicAdd(&stats[block], n);
    }
}

@compute @workgroup_size(256)
fn locate(@builtin(local_invocation_index) lid: u32) {
    // Invocation t owns elements 2t and 2t + 1, so an inclusive scan keeps index order.
    let i = 2u * lid;
    let hit0 = i < params.len && key_at(i) == params.u0;
    let hit1 = i + 1u < params.len && key_at(i + 1u) == params.u0;
    let own = u32(hit0) + u32(hit1);
    scan[lid] = own;
    for (var offset = 1u; offset < 256u; offset <<= 1u) {
        workgroupBarrier();
        let add = select(0u, scan[max(lid, offset) - offset], lid >= offset);
        workgroupBarrier();
        scan[lid] += add;
    }
    let before = scan[lid] - own;
    let wanted = params.u1;
    if (before < wanted && wanted <= scan[lid]) {
        let first_hit = select(i + 1u, i, hit0);
        atomicStore(&stats[0], select(i + 1u, first_hit, before + 1u == wanted));
    }
}
