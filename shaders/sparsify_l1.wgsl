// L1 statistics of one input's deltas (src/merge/sparsify/: `Bernoulli::observe`, the L1 sums of
// `MagnitudeWindow`): per workgroup Σ|δ| and Σ|δ| over kept elements, for slot `mode`, each as an
// unevaluated sum hi + lo (common/reduce.wgsl;
// the host sets `c` = 1) so the host's f64 total matches
// the CPU's f64 sum and the f32 rescale factor comes out the same.

const PAIRS_PER_INVOCATION: u32 = ELEMENTS_PER_WORKGROUP / 512u;

@group(0) @binding(2) var<storage, read_write> partials: array<f32>;

var<workgroup> totals: array<vec2<f32>, 256>;
var<workgroup> kept: array<vec2<f32>, 256>;

@compute @workgroup_size(256)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let group = workgroup_index(wid, nwg);
    let slot = params.mode;
    // Pairs j·256 + lid of the workgroup's, every pair's words loaded before any is summed.
    let first = group * (ELEMENTS_PER_WORKGROUP / 2u);
    var deltas: array<vec2<f32>, PAIRS_PER_INVOCATION>;
    for (var j = 0u; j < PAIRS_PER_INVOCATION; j++) {
        let p = first + j * 256u + lid;
        deltas[j] = fetch_pair(slot, p) - fetch_pair(0u, p);
    }
    var total = vec2<f32>(0.0);
    var inside = vec2<f32>(0.0);
    for (var j = 0u; j < PAIRS_PER_INVOCATION; j++) {
        for (var e = 0u; e < 2u; e++) {
            let i = 2u * (first + j * 256u + lid) + e;
            if (i < params.len) {
                let delta = deltas[j][e];
                let magnitude = abs(delta);
                total = add2(total, vec2<f32>(magnitude, 0.0));
                inside = add2(inside, vec2<f32>(select(0.0, magnitude, keeps(slot, delta, params.start + i)), 0.0));
            }
        }
    }
    totals[lid] = total;
    kept[lid] = inside;
    for (var stride = 128u; stride > 0u; stride >>= 1u) {
        workgroupBarrier();
        if (lid < stride) {
            totals[lid] = add2(totals[lid], totals[lid + stride]);
            kept[lid] = add2(kept[lid], kept[lid + stride]);
        }
    }
    if (lid == 0u) {
        partials[4u * group] = totals[0].x;
        partials[4u * group + 1u] = totals[0].y;
        partials[4u * group + 2u] = kept[0].x;
        partials[4u * group + 3u] = kept[0].y;
    }
}
