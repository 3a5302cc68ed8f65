//! Wall-clock seconds that work natively and in the browser (`std::time::Instant` panics in wasm).

/// Seconds since an arbitrary fixed origin; only differences mean anything.
#[cfg(not(target_arch = "wasm32"))]
pub fn seconds() -> f64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    ORIGIN.get_or_init(Instant::now).elapsed().as_secs_f64()
}

/// `performance.now()` of the page or worker (sub-millisecond: a short prompt on a fast CPU
/// takes under one of `Date.now()`'s milliseconds), else `Date.now()`.
#[cfg(target_arch = "wasm32")]
pub fn seconds() -> f64 {
    use js_sys::{Function, Reflect};
    use wasm_bindgen::{JsCast, JsValue};
    let performance = Reflect::get(&js_sys::global(), &JsValue::from_str("performance"));
    let now = performance.as_ref().ok().and_then(|p| {
        let now = Reflect::get(p, &JsValue::from_str("now")).ok()?;
        now.dyn_into::<Function>().ok()?.call0(p).ok()?.as_f64()
    });
    now.unwrap_or_else(js_sys::Date::now) / 1000.0
}
