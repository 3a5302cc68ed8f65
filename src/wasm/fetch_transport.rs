//! [`Transport`] for the tab: `fetch` (in a window or a worker), the body read piece by piece
//! from its stream, waits by `setTimeout`. Requests skip the HTTP cache: the blocks the merge
//! keeps are its cache, and 8 MiB ranges of a 30 GB model would only crowd out other entries.

use std::time::Duration;

use js_sys::{Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{ReadableStreamDefaultReader, Request, RequestCache, RequestInit, Response};

use super::blob_source::js_message;
use crate::io::hub::{Answer, Transport};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = fetch)]
    fn fetch_request(request: &Request) -> Promise;

    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(callback: &js_sys::Function, milliseconds: i32);
}

#[derive(Debug, Default)]
pub struct FetchTransport;

impl Transport for FetchTransport {
    type Body = Response;

    async fn get(&self, url: &str, headers: &[(&str, String)]) -> Result<Answer<Response>, String> {
        let init = RequestInit::new();
        init.set_method("GET");
        init.set_cache(RequestCache::NoStore);
        let request = Request::new_with_str_and_init(url, &init).map_err(|e| js_message(&e))?;
        for (name, value) in headers {
            request
                .headers()
                .set(name, value)
                .map_err(|e| js_message(&e))?;
        }
        let response = JsFuture::from(fetch_request(&request))
            .await
            .map_err(|e| format!("{url}: {}", js_message(&e)))?;
        let response: Response = response
            .dyn_into()
            .map_err(|_| format!("{url}: fetch gave no Response"))?;
        let header = |name: &str| response.headers().get(name).ok().flatten();
        Ok(Answer {
            status: response.status(),
            url: response.url(),
            content_range: header("content-range"),
            etag: header("etag"),
            body: response,
        })
    }

    async fn append_body(
        &self,
        body: Response,
        out: &mut Vec<u8>,
        want: usize,
    ) -> Result<(), String> {
        let Some(stream) = body.body() else {
            return Ok(());
        };
        let reader: ReadableStreamDefaultReader = stream
            .get_reader()
            .dyn_into()
            .map_err(|_| "the body has no reader".to_string())?;
        let mut got = 0usize;
        let outcome = loop {
            if got >= want {
                break Ok(());
            }
            let result = match JsFuture::from(reader.read()).await {
                Ok(result) => result,
                Err(e) => break Err(js_message(&e)),
            };
            let done = js_sys::Reflect::get(&result, &JsValue::from_str("done"))
                .map(|v| v.is_truthy())
                .unwrap_or(true);
            if done {
                break Ok(());
            }
            let Ok(chunk) = js_sys::Reflect::get(&result, &JsValue::from_str("value"))
                .and_then(|v| v.dyn_into::<Uint8Array>())
            else {
                break Err("the body gave something other than bytes".to_string());
            };
            let take = (chunk.length() as usize).min(want - got);
            let start = out.len();
            out.resize(start + take, 0);
            chunk
                .subarray(0, take as u32)
                .copy_to(&mut out[start..start + take]);
            got += take;
        };
        // Stop the download of anything past what was asked for (a broken stream is closed
        // already, and cancelling it would only reject).
        if outcome.is_ok() {
            let _ = reader.cancel();
        }
        outcome
    }

    async fn sleep(&self, wait: Duration) {
        let milliseconds = i32::try_from(wait.as_millis()).unwrap_or(i32::MAX);
        let promise = Promise::new(&mut |resolve, _| set_timeout(&resolve, milliseconds));
        let _ = JsFuture::from(promise).await;
    }
}
