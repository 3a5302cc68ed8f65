//! Hot loops compiled twice: for the build's baseline and, chosen at run time, for AVX2 (8 f32 /
//! i32 lanes). The operations are the same, so results are bit-identical (Rust never fuses a
//! multiply and an add on its own, nor reorders a float sum); `tests/core/simd_levels.rs` checks it on
//! whole merges. An AVX-512 build of the same loops measured no faster on the AMD EPYC of our
//! 2-core VMs (`benches/cpu_merge.rs`), so there is none.

use std::sync::atomic::{AtomicU8, Ordering};

/// Instruction sets the hot loops can run with, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SimdLevel {
    Baseline = 0,
    Avx2 = 1,
}

impl SimdLevel {
    pub const ALL: [SimdLevel; 2] = [SimdLevel::Baseline, SimdLevel::Avx2];

    /// `baseline` or `avx2` (the `MIXMERGE_SIMD` values).
    pub fn parse(name: &str) -> Option<SimdLevel> {
        match name.trim().to_ascii_lowercase().as_str() {
            "baseline" => Some(SimdLevel::Baseline),
            "avx2" => Some(SimdLevel::Avx2),
            _ => None,
        }
    }
}

/// The highest level the loops may use (set lower to compare or to measure).
static LIMIT: AtomicU8 = AtomicU8::new(SimdLevel::Avx2 as u8);

/// Caps the level every later hot loop runs with (process-wide).
pub fn limit_simd(level: SimdLevel) {
    LIMIT.store(level as u8, Ordering::Relaxed);
}

/// What this CPU has, capped by [`limit_simd`].
pub fn simd_level() -> SimdLevel {
    let limit = LIMIT.load(Ordering::Relaxed);
    let usable = |level: SimdLevel| level as u8 <= limit && detected(level);
    if usable(SimdLevel::Avx2) {
        SimdLevel::Avx2
    } else {
        SimdLevel::Baseline
    }
}

#[cfg(target_arch = "x86_64")]
fn detected(level: SimdLevel) -> bool {
    match level {
        SimdLevel::Baseline => true,
        SimdLevel::Avx2 => std::arch::is_x86_feature_detected!("avx2"),
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn detected(level: SimdLevel) -> bool {
    level == SimdLevel::Baseline
}

/// Defines `fn name(args) -> ret { body }` whose body runs compiled for the best
/// [`SimdLevel`] the CPU has. The body is a nested `#[inline(always)]` function, so everything
/// it calls inline is widened.
macro_rules! wide_fn {
    (
        $(#[$meta:meta])*
        $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block
    ) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn body($($arg: $ty),*) $(-> $ret)? $body

            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2")]
            unsafe fn avx2($($arg: $ty),*) $(-> $ret)? {
                body($($arg),*)
            }

            #[cfg(target_arch = "x86_64")]
            {
                use $crate::merge::sparsify::wide::{simd_level, SimdLevel};
                if simd_level() == SimdLevel::Avx2 {
                    // SAFETY: `simd_level` only names sets the CPU has.
                    return unsafe { avx2($($arg),*) };
                }
            }
            body($($arg),*)
        }
    };
}

pub(crate) use wide_fn;
