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

pub struct JsControl<'a> {
    control: JsValue,
    pause: Option<Function>,
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
        let method = |name: &str| {
            Reflect::get(&control, &JsValue::from_str(name))
                .ok()
                .and_then(|f| f.dyn_into::<Function>().ok())
        };
        JsControl {
            pause: method("pause"),
            on_token: method("onToken"),
            control,
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

    fn cancelled(&self) -> bool {
        Reflect::get(&self.control, &JsValue::from_str("cancelled"))
            .map(|v| v.is_truthy())
            .unwrap_or(false)
    }
}

impl EvalHooks for JsControl<'_> {
    async fn before_pass(&mut self) -> Result<()> {
        if let Some(pause) = &self.pause {
            if let Ok(waiting) = pause.call0(&self.control) {
                if let Some(promise) = waiting.dyn_ref::<Promise>() {
                    // A rejected pause is as good as a resolved one: it only yields.
                    let _ = JsFuture::from(promise.clone()).await;
                }
            }
        }
        match self.cancelled() {
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
        if let (Some(on_token), Ok(value)) = (&self.on_token, super::super::to_js(&event)) {
            // A throwing callback must not stop generation.
            let _ = on_token.call1(&self.control, &value);
        }
    }
}
