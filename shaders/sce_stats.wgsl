// SCE's statistics passes (src/merge/sce.rs):
//  variances: each element's variance → stats[u2 + i] (the keys of the top-k radix select,
//            which keeps its bins below u2);
//  squares:  per 512-element workgroup and input k, Σ δₖ² over the selected elements as a
//            compensated pair → stats[2·(group·count + k)], for the weights wₖ ∝ mean δₖ².

@group(0) @binding(2) var<storage, read_write> stats: array<f32>;

var<workgroup> partial: array<vec2<f32>, 256>;

@compute @workgroup_size(256)
fn variances(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let i = workgroup_index(wid, nwg) * 256u + lid;
    if (i < params.len) {
        stats[params.u2 + i] = variance(i, load(0u, i), params.c);
    }
}

@compute @workgroup_size(256)
fn squares(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let group = workgroup_index(wid, nwg);
    let first = group * 512u + 2u * lid;
    var kept = vec2<bool>(false);
    var bases = vec2<f32>(0.0);
    for (var e = 0u; e < 2u; e++) {
        if (first + e < params.len) {
            bases[e] = load(0u, first + e);
            kept[e] = sce_selected(first + e, bases[e]);
        }
    }
    for (var k = 0u; k < INPUTS; k++) {
        var sum = vec2<f32>(0.0);
        for (var e = 0u; e < 2u; e++) {
            if (kept[e]) {
                let d = task_delta(k, first + e, bases[e]);
                sum = add2(sum, vec2<f32>((d * d) * params.c, 0.0));
            }
        }
        partial[lid] = sum;
        for (var stride = 128u; stride > 0u; stride >>= 1u) {
            workgroupBarrier();
            if (lid < stride) {
                partial[lid] = add2(partial[lid], partial[lid + stride]);
            }
        }
        workgroupBarrier();
        if (lid == 0u) {
            stats[2u * (group * INPUTS + k)] = partial[0].x;
            stats[2u * (group * INPUTS + k) + 1u] = partial[0].y;
        }
        workgroupBarrier();
    }
}
