// The bandwidth ceiling the kernel benchmark compares merges with (src/gpu/ceiling.rs): a plain
// copy, as fast as a WGSL kernel on this device and driver moves bytes. Two entry points: 4-byte
// words (as the merge kernels load them) and 16-byte words. Each invocation issues all of its
// loads before its stores, and each load instruction of a workgroup reads consecutive words.
// The host sizes the buffers in whole workgroup spans (4 · WORKGROUP elements), so a workgroup
// lies wholly inside them or wholly past them (the 2-D grid's spare ones).

const WORKGROUP: u32 = 256u;

@group(0) @binding(0) var<storage, read> words_in: array<u32>;
@group(0) @binding(1) var<storage, read_write> words_out: array<u32>;
@group(0) @binding(2) var<storage, read> quads_in: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read_write> quads_out: array<vec4<u32>>;

// The first element of invocation `lid`'s stride: 4 elements per invocation, WORKGROUP apart.
fn first_of(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
    return (wid.y * nwg.x + wid.x) * WORKGROUP * 4u + lid;
}

@compute @workgroup_size(256)
fn copy_words(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let i = first_of(wid, nwg, lid);
    if (i >= arrayLength(&words_out)) {
        return;
    }
    let a = words_in[i];
    let b = words_in[i + WORKGROUP];
    let c = words_in[i + 2u * WORKGROUP];
    let d = words_in[i + 3u * WORKGROUP];
    words_out[i] = a;
    words_out[i + WORKGROUP] = b;
    words_out[i + 2u * WORKGROUP] = c;
    words_out[i + 3u * WORKGROUP] = d;
}

@compute @workgroup_size(256)
fn copy_quads(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let i = first_of(wid, nwg, lid);
    if (i >= arrayLength(&quads_out)) {
        return;
    }
    let a = quads_in[i];
    let b = quads_in[i + WORKGROUP];
    let c = quads_in[i + 2u * WORKGROUP];
    let d = quads_in[i + 3u * WORKGROUP];
    quads_out[i] = a;
    quads_out[i + WORKGROUP] = b;
    quads_out[i + 2u * WORKGROUP] = c;
    quads_out[i + 3u * WORKGROUP] = d;
}
