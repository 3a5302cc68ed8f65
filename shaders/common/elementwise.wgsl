// Entry point of the element-wise kernels: each invocation merges a pair of elements with the
// kernel's `merge_one(i)` and writes them in `OUT_DTYPE` (one word for two halves: no races).

@group(0) @binding(2) var<storage, read_write> output: array<u32>;

@compute @workgroup_size(256)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let pair = workgroup_index(wid, nwg) * 256u + lid;
    let i = 2u * pair;
    if (i >= params.len) {
        return;
    }
    let second = i + 1u < params.len;
    let v0 = merge_one(i);
    var v1 = 0.0;
    if (second) {
        v1 = merge_one(i + 1u);
    }
    if (OUT_DTYPE == DTYPE_F32) {
        output[i] = bitcast<u32>(v0);
        if (second) {
            output[i + 1u] = bitcast<u32>(v1);
        }
    } else {
        var word = encode_half(OUT_DTYPE, v0);
        if (second) {
            word |= encode_half(OUT_DTYPE, v1) << 16u;
        }
        output[pair] = word;
    }
}
