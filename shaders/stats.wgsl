// Gram statistics (src/merge/stats.rs `Gram`): Σ vₐ·v_b over each vector for every pair a ≤ b
// of the `count` vectors, row by row of the upper triangle, each as a pair hi + lo (common/
// reduce.wgsl) that the host adds up in f64. Partials cover fixed spans of the tensor, so
// chunks cut at span edges give the same sums however the tensor is chunked.
//  gram_rows:    vectors are rows of u1 elements (flat: one row); workgroup g sums segment
//                u2 + g, segments being SEGMENT-element runs aligned to row starts;
//  gram_columns: vectors are columns of stride u1; invocation (column c, block b of
//                ROW_BLOCK rows from row block u3) sums its rows; u2 workgroups span a row.

const SEGMENT: u32 = 2048u;
const ROW_BLOCK: u32 = 64u;

@group(0) @binding(2) var<storage, read_write> partials: array<f32>;

var<workgroup> lanes: array<vec2<f32>, 256>;

fn pair_count() -> u32 {
    return INPUTS * (INPUTS + 1u) / 2u;
}

fn write_partial(slot: u32, sum: vec2<f32>) {
    partials[2u * slot] = sum.x;
    partials[2u * slot + 1u] = sum.y;
}

@compute @workgroup_size(256)
fn gram_rows(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let group = workgroup_index(wid, nwg);
    let row_len = params.u1;
    let per_row = (row_len + SEGMENT - 1u) / SEGMENT;
    let segment = params.u2 + group;
    let row = segment / per_row;
    let first = row * row_len + (segment % per_row) * SEGMENT;
    let end = min(min(first + SEGMENT, (row + 1u) * row_len), params.start + params.len);
    let begin = max(first, params.start);
    var pair = 0u;
    for (var a = 0u; a < INPUTS; a++) {
        for (var b = a; b < INPUTS; b++) {
            var sum = vec2<f32>(0.0);
            for (var e = begin + lid; e < end; e += 256u) {
                let i = e - params.start;
                sum = add2(sum, product2(vector_at(a, i), vector_at(b, i)));
            }
            lanes[lid] = sum;
            for (var stride = 128u; stride > 0u; stride >>= 1u) {
                workgroupBarrier();
                if (lid < stride) {
                    lanes[lid] = add2(lanes[lid], lanes[lid + stride]);
                }
            }
            if (lid == 0u) {
                write_partial(group * pair_count() + pair, lanes[0]);
            }
            workgroupBarrier();
            pair++;
        }
    }
}

@compute @workgroup_size(256)
fn gram_columns(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let group = workgroup_index(wid, nwg);
    let stride = params.u1;
    let column = (group % params.u2) * 256u + lid;
    let block = group / params.u2;
    if (column >= stride) {
        return;
    }
    let first_row = (params.u3 + block) * ROW_BLOCK;
    let end = params.start + params.len;
    var pair = 0u;
    for (var a = 0u; a < INPUTS; a++) {
        for (var b = a; b < INPUTS; b++) {
            var sum = vec2<f32>(0.0);
            for (var r = first_row; r < first_row + ROW_BLOCK; r++) {
                let e = r * stride + column;
                if (e >= params.start && e < end) {
                    let i = e - params.start;
                    sum = add2(sum, product2(vector_at(a, i), vector_at(b, i)));
                }
            }
            write_partial((block * stride + column) * pair_count() + pair, sum);
            pair++;
        }
    }
}
