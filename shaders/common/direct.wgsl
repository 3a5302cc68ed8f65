// `load` of the statistics kernels: element i of a slot, read from memory when asked for (the
// element-wise kernels load theirs ahead instead: common/elementwise.wgsl).

fn load(slot: u32, i: u32) -> f32 {
    return fetch(slot, i);
}
