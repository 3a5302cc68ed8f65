//! Hot loops compiled twice: for the build's baseline and, chosen at run time, for AVX2 (8 f32 /
//! i32 lanes, 32-bit multiplies and wider compares in vectors). The operations are the same, so
//! results are bit-identical (Rust never fuses a multiply and an add on its own).

/// Defines `fn name(args) -> ret { body }` whose body runs compiled for AVX2 when the CPU has it.
/// The body is a nested `#[inline(always)]` function, so everything it calls inline is widened.
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
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU has AVX2, checked just above.
                    return unsafe { avx2($($arg),*) };
                }
            }
            body($($arg),*)
        }
    };
}

pub(crate) use wide_fn;
