// DELLA's rank pass (src/merge/sparsify/della.rs): every element's rank by |δ| within its row
// of u0 elements — ascending, ties by position, the CPU's sort order — then its keep draw.
//  sort_tiles: a workgroup sorts one tile (≤ TILE elements of a row, padded to the power of two
//              u3) of (|δ| key, position) pairs of slot `mode`; they go to result[2e], [2e + 1];
//  rank:       Σ over the row's sorted tiles (copied to word u1) of the pairs before its own,
//              then keep = uniform(start + i) < p[rank] (table at word u2, host-computed):
//              result[i] = rank | keep << 31 (read by `keeps` in common/sparsify.wgsl).

const TILE: u32 = 1024u;
// Invocations sorting one tile: few enough that CPU drivers' barriers stay cheap.
const SORTERS: u32 = 64u;

@group(0) @binding(2) var<storage, read_write> result: array<u32>;

var<workgroup> keys: array<u32, TILE>;
var<workgroup> positions: array<u32, TILE>;

fn delta_key(i: u32) -> u32 {
    return magnitude_key(load(params.mode, i) - load(0u, i));
}

fn before(key_a: u32, position_a: u32, key_b: u32, position_b: u32) -> bool {
    return key_a < key_b || (key_a == key_b && position_a < position_b);
}

@compute @workgroup_size(64)
fn sort_tiles(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let row_len = params.u0;
    let tiles = (row_len + TILE - 1u) / TILE;
    let group = workgroup_index(wid, nwg);
    let first = (group % tiles) * TILE;
    let row_start = (group / tiles) * row_len;
    if (row_start >= params.len) {
        return;
    }
    let count = min(TILE, row_len - first);
    let width = params.u3;
    for (var t = lid; t < width; t += SORTERS) {
        keys[t] = select(0xffffffffu, delta_key(row_start + first + t), t < count);
        positions[t] = select(0xffffffffu, first + t, t < count);
    }
    // Bitonic network: pair (a, a + j) of each stage, ascending where bit k of a is clear.
    for (var k = 2u; k <= width; k <<= 1u) {
        for (var j = k >> 1u; j > 0u; j >>= 1u) {
            workgroupBarrier();
            for (var t = lid; t < width / 2u; t += SORTERS) {
                let a = 2u * t - (t & (j - 1u));
                let b = a + j;
                let ka = keys[a];
                let pa = positions[a];
                let kb = keys[b];
                let pb = positions[b];
                let ascending = (a & k) == 0u;
                if (select(before(ka, pa, kb, pb), before(kb, pb, ka, pa), ascending)) {
                    keys[a] = kb;
                    positions[a] = pb;
                    keys[b] = ka;
                    positions[b] = pa;
                }
            }
        }
    }
    workgroupBarrier();
    for (var t = lid; t < count; t += SORTERS) {
        let e = row_start + first + t;
        result[2u * e] = keys[t];
        result[2u * e + 1u] = positions[t];
    }
}

// How many of a sorted tile's `count` pairs (from word `tile`) come before (key, position).
fn pairs_before(tile: u32, count: u32, key: u32, position: u32) -> u32 {
    var low = 0u;
    var high = count;
    while (low < high) {
        let middle = (low + high) >> 1u;
        let w = tile + 2u * middle;
        if (before(inputs[w], inputs[w + 1u], key, position)) {
            low = middle + 1u;
        } else {
            high = middle;
        }
    }
    return low;
}

@compute @workgroup_size(256)
fn rank(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let i = workgroup_index(wid, nwg) * 256u + lid;
    if (i >= params.len) {
        return;
    }
    let row_len = params.u0;
    let position = i % row_len;
    let row_start = i - position;
    let key = delta_key(i);
    var rank = 0u;
    for (var first = 0u; first < row_len; first += TILE) {
        let tile = params.u1 + 2u * (row_start + first);
        rank += pairs_before(tile, min(TILE, row_len - first), key, position);
    }
    let p = bitcast<f32>(inputs[params.u2 + rank]);
    let keep = stream_uniform(params.slots[params.mode].stream, params.start + i) < p;
    result[i] = rank | (u32(keep) << 31u);
}
