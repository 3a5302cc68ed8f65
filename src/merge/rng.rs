//! Counter-based randomness: the value for element `i` of a tensor under a seed is a pure
//! function of (seed, tensor key, i), so masks do not depend on chunking, threads or device.
//! Only 32-bit integer operations, so the WGSL twin (`shaders/common/rng.wgsl`) is bit-identical.

/// A bijective 32-bit mixer (the "lowbias32" constants), good avalanche with cheap integer ops.
#[inline]
pub fn mix32(mut x: u32) -> u32 {
    x ^= x >> 16;
    x = x.wrapping_mul(0x7feb_352d);
    x ^= x >> 15;
    x = x.wrapping_mul(0x846c_a68b);
    x ^= x >> 16;
    x
}

/// FNV-1a of a tensor name: the per-tensor stream key.
pub fn tensor_key(name: &str) -> u32 {
    name.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ b as u32).wrapping_mul(0x0100_0193)
    })
}

/// Identifies one random stream: a seed, a tensor and a model slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stream {
    pub key: u32,
}

impl Stream {
    pub fn new(seed: u64, tensor_key: u32, slot: u32) -> Self {
        let seed_lo = seed as u32;
        let seed_hi = (seed >> 32) as u32;
        let key = mix32(mix32(mix32(seed_lo ^ 0x9e37_79b9) ^ seed_hi) ^ tensor_key)
            ^ mix32(slot.wrapping_add(0x632b_e5ab));
        Stream { key }
    }

    /// 32 random bits for element `index` (tensors up to 2^32 elements).
    #[inline]
    pub fn bits(self, index: u32) -> u32 {
        mix32(mix32(index ^ self.key).wrapping_add(self.key))
    }

    /// Uniform in [0, 1) with 24 bits of resolution, exactly representable in f32.
    #[inline]
    pub fn uniform(self, index: u32) -> f32 {
        (self.bits(index) >> 8) as f32 * (1.0 / 16_777_216.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_pin_the_function() {
        // The WGSL twin is tested against these same numbers.
        let s = Stream::new(42, tensor_key("model.layers.0.mlp.up_proj.weight"), 1);
        assert_eq!(mix32(0), 0);
        assert_eq!(mix32(1), 0x6889_90c0);
        let first: Vec<u32> = (0..3).map(|i| s.bits(i)).collect();
        assert_eq!(first, (0..3).map(|i| s.bits(i)).collect::<Vec<_>>());
        assert_ne!(first[0], first[1]);
    }

    #[test]
    fn uniform_is_uniform() {
        let s = Stream::new(7, tensor_key("w"), 0);
        let n = 1_000_000u32;
        let mut buckets = [0u32; 10];
        let mut below_half = 0u32;
        for i in 0..n {
            let u = s.uniform(i);
            assert!((0.0..1.0).contains(&u));
            buckets[(u * 10.0) as usize] += 1;
            below_half += (u < 0.5) as u32;
        }
        for b in buckets {
            assert!((b as f64 - 100_000.0).abs() < 1_500.0, "{buckets:?}");
        }
        assert!((below_half as f64 / n as f64 - 0.5).abs() < 0.002);
    }

    #[test]
    fn streams_differ_by_seed_tensor_and_slot() {
        let k = tensor_key("a");
        let base = Stream::new(1, k, 0);
        for other in [
            Stream::new(2, k, 0),
            Stream::new(1, tensor_key("b"), 0),
            Stream::new(1, k, 1),
            Stream::new(1 << 32, k, 0),
        ] {
            let same = (0..1000).filter(|&i| base.bits(i) == other.bits(i)).count();
            assert!(same < 3);
        }
    }
}
