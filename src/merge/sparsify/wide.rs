//! Hot loops compiled twice: for the build's baseline and, chosen at run time, for AVX2 (8 f32 /
//! i32 lanes, 32-bit multiplies and 64-bit compares in vectors). The operations are the same, so
//! results are bit-identical (Rust never fuses a multiply and an add on its own).

/// Runs `f`, with its inlined loops compiled for AVX2 when the CPU has it.
#[inline(always)]
pub fn run<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, checked just above.
            return unsafe { run_avx2(f) };
        }
    }
    f()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn run_avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}
