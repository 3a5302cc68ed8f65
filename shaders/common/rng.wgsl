// Counter-based randomness, bit-identical to src/merge/rng.rs: 32-bit integer ops only.
// The stream key (seed, tensor, slot) is computed on the host with `Stream::new`.

fn mix32(v: u32) -> u32 {
    var x = v;
    x ^= x >> 16u;
    x *= 0x7feb352du;
    x ^= x >> 15u;
    x *= 0x846ca68bu;
    x ^= x >> 16u;
    return x;
}

fn stream_key(seed_lo: u32, seed_hi: u32, tensor: u32, slot: u32) -> u32 {
    return mix32(mix32(mix32(seed_lo ^ 0x9e3779b9u) ^ seed_hi) ^ tensor) ^ mix32(slot + 0x632be5abu);
}

fn stream_bits(key: u32, index: u32) -> u32 {
    return mix32(mix32(index ^ key) + key);
}

/// Uniform in [0, 1) with 24 bits, exactly representable in f32.
fn stream_uniform(key: u32, index: u32) -> f32 {
    return f32(stream_bits(key, index) >> 8u) * (1.0 / 16777216.0);
}
