// L1 statistics of one input's deltas (src/merge/sparsify/: `Bernoulli::observe`, the L1 sums of
// `MagnitudeWindow`): per workgroup Σ|δ| and Σ|δ| over kept elements, for slot `mode`; the host
// adds the partials in f64.

@group(0) @binding(2) var<storage, read_write> partials: array<f32>;

var<workgroup> totals: array<f32, 256>;
var<workgroup> kept: array<f32, 256>;

@compute @workgroup_size(256)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let group = workgroup_index(wid, nwg);
    let slot = params.mode;
    var total = 0.0;
    var inside = 0.0;
    for (var e = 0u; e < 2u; e++) {
        let i = (group * 256u + lid) * 2u + e;
        if (i < params.len) {
            let delta = load(slot, i) - load(0u, i);
            let magnitude = abs(delta);
            total += magnitude;
            inside += select(0.0, magnitude, keeps(slot, delta, params.start + i));
        }
    }
    totals[lid] = total;
    kept[lid] = inside;
    for (var stride = 128u; stride > 0u; stride >>= 1u) {
        workgroupBarrier();
        if (lid < stride) {
            totals[lid] += totals[lid + stride];
            kept[lid] += kept[lid + stride];
        }
    }
    if (lid == 0u) {
        partials[2u * group] = totals[0];
        partials[2u * group + 1u] = kept[0];
    }
}
