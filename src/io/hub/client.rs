//! HTTP to the hub: whole small files and byte ranges, retried with backoff on 429, 5xx and
//! dropped connections, resumed at the byte where a body broke off.

use std::io::Read;
use std::time::Duration;

use ureq::http::Response;
use ureq::{Agent, Body};

use super::HubSettings;

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

/// One agent (connection pool) and the run's settings.
#[derive(Debug)]
pub struct HubClient {
    agent: Agent,
    pub settings: HubSettings,
}

/// The status line of a response that is not what was asked for, as a [`Failure`].
pub fn status_failure(response: &Response<Body>, url: &str, token: bool) -> Failure {
    let status = response.status().as_u16();
    let reason = match status {
        401 | 403 if !token => format!(
            "HTTP {status} from {url}: the model is gated or private; set HF_TOKEN to a token that may read it"
        ),
        401 | 403 => format!("HTTP {status} from {url}: the token (HF_TOKEN) may not read this model"),
        404 => format!("HTTP 404 from {url}: no such model, revision or file"),
        _ => format!("HTTP {status} from {url}"),
    };
    match status {
        408 | 429 | 500..=599 => Failure::Transient(reason),
        _ => Failure::Final(reason),
    }
}

impl HubClient {
    pub fn new(settings: HubSettings) -> HubClient {
        let config = Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(30)))
            .timeout_per_read(Some(Duration::from_secs(60)))
            .save_redirect_history(true)
            .build();
        HubClient {
            agent: config.into(),
            settings,
        }
    }

    /// `GET url`, for `Range: bytes=first-last` when given; the token goes to the endpoint only
    /// (a redirect to a CDN never carries it).
    pub fn get(&self, url: &str, range: Option<(u64, u64)>) -> Result<Response<Body>, Failure> {
        let mut request = self.agent.get(url);
        if let Some((first, last)) = range {
            request = request.header("Range", format!("bytes={first}-{last}"));
        }
        if let Some(token) = self.token_for(url) {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        request
            .call()
            .map_err(|e| Failure::Transient(format!("{url}: {e}")))
    }

    fn token_for(&self, url: &str) -> Option<&str> {
        let endpoint = &self.settings.endpoint;
        let ours = url.starts_with(endpoint.as_str()) && url[endpoint.len()..].starts_with('/');
        self.settings.token.as_deref().filter(|_| ours)
    }

    /// A whole small file (a listing, config.json), at most `limit` bytes.
    pub fn get_whole(&self, url: &str, limit: u64) -> Result<Vec<u8>, Failure> {
        self.retrying(|| {
            let mut response = self.get(url, None)?;
            if response.status().as_u16() != 200 {
                return Err(status_failure(
                    &response,
                    url,
                    self.settings.token.is_some(),
                ));
            }
            response
                .body_mut()
                .with_config()
                .limit(limit)
                .read_to_vec()
                .map_err(|e| Failure::Transient(format!("{url}: {e}")))
        })
    }

    /// Runs `attempt` until it succeeds, fails for good, or the tries run out; waits between
    /// tries double from the settings' first backoff (capped at 10 s).
    pub fn retrying<T>(
        &self,
        mut attempt: impl FnMut() -> Result<T, Failure>,
    ) -> Result<T, Failure> {
        let mut tries = 0;
        loop {
            match attempt() {
                Err(Failure::Transient(reason)) => {
                    tries += 1;
                    if tries >= self.settings.attempts {
                        return Err(Failure::Final(format!("{reason} (after {tries} tries)")));
                    }
                    std::thread::sleep(self.backoff(tries));
                }
                done => return done,
            }
        }
    }

    pub fn backoff(&self, tries: u32) -> Duration {
        let doubled = self
            .settings
            .first_backoff
            .saturating_mul(1 << (tries - 1).min(16));
        doubled.min(Duration::from_secs(10))
    }
}

/// Reads `response`'s body onto the end of `out` until it ends or `want` bytes have come;
/// a body that breaks off keeps what arrived, so the caller can resume after it.
pub fn read_body_into(
    response: Response<Body>,
    out: &mut Vec<u8>,
    want: usize,
) -> Result<(), String> {
    let mut reader = response.into_body().into_reader().take(want as u64);
    let mut chunk = vec![0u8; 256 * 1024];
    loop {
        match reader.read(&mut chunk) {
            Ok(0) => return Ok(()),
            Ok(n) => out.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.to_string()),
        }
    }
}
