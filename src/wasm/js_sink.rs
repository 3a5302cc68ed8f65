//! A [`ShardSink`] that hands bytes to a JS object: `begin(name)`, `write(bytes)`, `end()` queue
//! work (OPFS sync access handles, or `createWritable` streams in a picked folder), `flush()`
//! returns a promise that settles when the queue is drained. The executor awaits `flush` after
//! every chunk, so at most one chunk is ever queued.

use std::rc::Rc;

use js_sys::{Function, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::blob_source::js_message;
use crate::error::{MergeError, Result};
use crate::io::ShardSink;

#[derive(Clone)]
pub struct JsSink(Rc<Methods>);

struct Methods {
    target: JsValue,
    begin: Function,
    write: Function,
    end: Function,
    flush: Function,
}

impl JsSink {
    pub fn new(target: JsValue) -> Result<Self> {
        let method = |name: &str| -> Result<Function> {
            Reflect::get(&target, &JsValue::from_str(name))
                .ok()
                .and_then(|f| f.dyn_into::<Function>().ok())
                .ok_or_else(|| MergeError::Output {
                    path: "output".into(),
                    reason: format!("the output object has no `{name}` method"),
                })
        };
        Ok(JsSink(Rc::new(Methods {
            begin: method("begin")?,
            write: method("write")?,
            end: method("end")?,
            flush: method("flush")?,
            target,
        })))
    }

    /// Waits until every queued write has reached the file.
    pub async fn flush(&self) -> Result<()> {
        let promise = self.0.flush.call0(&self.0.target).map_err(output_error)?;
        JsFuture::from(js_sys::Promise::resolve(&promise))
            .await
            .map_err(output_error)?;
        Ok(())
    }

    /// A whole small file (config.json, the model card).
    pub fn write_file(&mut self, name: &str, bytes: &[u8]) -> Result<()> {
        self.begin_file(name)?;
        self.write(bytes)?;
        self.end_file()
    }
}

impl ShardSink for JsSink {
    fn begin_file(&mut self, name: &str) -> Result<()> {
        let m = &self.0;
        m.begin
            .call1(&m.target, &JsValue::from_str(name))
            .map(drop)
            .map_err(output_error)
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        // A copy: the queue outlives this borrow of wasm memory.
        let m = &self.0;
        m.write
            .call1(&m.target, &Uint8Array::from(bytes))
            .map(drop)
            .map_err(output_error)
    }

    fn end_file(&mut self) -> Result<()> {
        let m = &self.0;
        m.end.call0(&m.target).map(drop).map_err(output_error)
    }
}

fn output_error(e: JsValue) -> MergeError {
    MergeError::Output {
        path: "output".into(),
        reason: js_message(&e),
    }
}
