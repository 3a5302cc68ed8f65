//! Wall-clock seconds that work natively and in the browser (`std::time::Instant` panics in wasm).

/// Seconds since an arbitrary fixed origin; only differences mean anything.
#[cfg(not(target_arch = "wasm32"))]
pub fn seconds() -> f64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    ORIGIN.get_or_init(Instant::now).elapsed().as_secs_f64()
}

#[cfg(target_arch = "wasm32")]
pub fn seconds() -> f64 {
    js_sys::Date::now() / 1000.0
}
