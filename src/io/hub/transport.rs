//! What streaming needs from HTTP, natively (ureq) and in the tab (`fetch`): a GET with headers,
//! its status and the headers the checks read, its body appended piece by piece, and a wait.

use std::time::Duration;

/// Why a request failed, and whether trying again can help.
#[derive(Debug)]
pub enum Failure {
    /// 429, 5xx, a reset or timed-out connection, a body cut short.
    Transient(String),
    /// Anything a retry would only repeat (404, 401, a changed file).
    Final(String),
}

impl Failure {
    pub fn reason(&self) -> &str {
        match self {
            Failure::Transient(reason) | Failure::Final(reason) => reason,
        }
    }
}

/// A response before its body is read.
#[derive(Debug)]
pub struct Answer<B> {
    pub status: u16,
    /// The URL that answered, after redirects.
    pub url: String,
    pub content_range: Option<String>,
    pub etag: Option<String>,
    pub body: B,
}

/// One way of making requests.
#[allow(async_fn_in_trait)]
pub trait Transport {
    type Body;

    /// `GET url` with `headers`; `Err` only when no response came (the connection failed).
    async fn get(
        &self,
        url: &str,
        headers: &[(&str, String)],
    ) -> Result<Answer<Self::Body>, String>;

    /// Appends the body to `out` until it ends or `want` bytes have come; a body that breaks off
    /// keeps what arrived (so the caller can resume after it) and says why.
    async fn append_body(
        &self,
        body: Self::Body,
        out: &mut Vec<u8>,
        want: usize,
    ) -> Result<(), String>;

    async fn sleep(&self, wait: Duration);
}

/// The failure a response's unexpected status means; `token` says whether one was sent.
pub fn status_failure(status: u16, url: &str, token: bool) -> Failure {
    let reason = match status {
        401 | 403 if !token => format!(
            "HTTP {status} from {url}: the model is gated or private; give a token that may read it (HF_TOKEN, or the page's token field)"
        ),
        401 | 403 => format!("HTTP {status} from {url}: the token may not read this model"),
        404 => format!("HTTP 404 from {url}: no such model, revision or file"),
        _ => format!("HTTP {status} from {url}"),
    };
    match status {
        408 | 429 | 500..=599 => Failure::Transient(reason),
        _ => Failure::Final(reason),
    }
}
