//! The page's side of a running evaluation: a `control` object `{cancelled, pause(), onToken()}`.
//! `pause()` may return a promise (the worker resolves it on a macrotask, so its `cancel`
//! message is read meanwhile); `onToken({token, text})` receives each generated token and the
//! text it completes.

use js_sys::{Function, Promise, Reflect};
use serde::Serialize;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::error::{MergeError, Result};
use crate::eval::{EvalHooks, TextStream};

/// A page's `control` object: `pause()` to yield to the worker's event loop, `cancelled` to
/// stop, and callbacks by name. Every long call (generation, sweeps, searches) polls one.
pub struct PageControl {
    control: JsValue,
    pause: Option<Function>,
}

impl PageControl {
    pub fn new(control: JsValue) -> Self {
        let mut page = PageControl {
            control,
            pause: None,
        };
        page.pause = page.method("pause");
        page
    }

    /// The control's function `name`, if it has one.
    pub fn method(&self, name: &str) -> Option<Function> {
        Reflect::get(&self.control, &JsValue::from_str(name))
            .ok()
            .and_then(|f| f.dyn_into::<Function>().ok())
    }

    /// Yields through `pause()` when the page gave one; then whether the page cancelled.
    pub async fn pause_then_cancelled(&self) -> bool {
        if let Some(pause) = &self.pause {
            if let Ok(waiting) = pause.call0(&self.control) {
                if let Some(promise) = waiting.dyn_ref::<Promise>() {
                    // A rejected pause is as good as a resolved one: it only yields.
                    let _ = JsFuture::from(promise.clone()).await;
                }
            }
        }
        Reflect::get(&self.control, &JsValue::from_str("cancelled"))
            .map(|v| v.is_truthy())
            .unwrap_or(false)
    }

    /// Calls `callback` with `event`; a throwing callback must not stop the work.
    pub fn notify<T: Serialize>(&self, callback: &Option<Function>, event: &T) {
        if let (Some(callback), Ok(value)) = (callback, super::super::to_js(event)) {
            let _ = callback.call1(&self.control, &value);
        }
    }
}

pub struct JsControl<'a> {
    page: PageControl,
    on_token: Option<Function>,
    stream: Option<TextStream<'a>>,
    /// The first decoding error; reported once generation ends.
    pub error: Option<MergeError>,
}

#[derive(Serialize)]
struct TokenEvent<'s> {
    token: u32,
    text: &'s str,
}

impl<'a> JsControl<'a> {
    /// `stream`: decodes generated tokens for `onToken` (none for perplexity).
    pub fn new(control: JsValue, stream: Option<TextStream<'a>>) -> Self {
        let page = PageControl::new(control);
        JsControl {
            on_token: page.method("onToken"),
            page,
            stream,
            error: None,
        }
    }

    /// The whole generated text so far.
    pub fn text(&self) -> Result<String> {
        self.stream
            .as_ref()
            .map_or(Ok(String::new()), TextStream::text)
    }
}

impl EvalHooks for JsControl<'_> {
    async fn before_pass(&mut self) -> Result<()> {
        match self.page.pause_then_cancelled().await {
            true => Err(MergeError::EvaluationCancelled),
            false => Ok(()),
        }
    }

    fn token(&mut self, token: u32) {
        let Some(stream) = self.stream.as_mut() else {
            return;
        };
        let text = match stream.push(token) {
            Ok(text) => text,
            Err(e) => {
                self.error.get_or_insert(e);
                String::new()
            }
        };
        let event = TokenEvent { token, text: &text };
        self.page.notify(&self.on_token, &event);
    }
}
