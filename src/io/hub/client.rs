//! Requests to the hub over any [`Transport`]: whole small files and byte ranges, retried with
//! backoff on 429, 5xx and dropped connections.

use std::time::Duration;

use super::transport::{status_failure, Answer, Failure, Transport};
use super::HubSettings;

/// A transport and the run's settings.
#[derive(Debug)]
pub struct HubClient<T> {
    transport: T,
    pub settings: HubSettings,
}

impl<T: Transport> HubClient<T> {
    pub fn new(transport: T, settings: HubSettings) -> HubClient<T> {
        HubClient {
            transport,
            settings,
        }
    }

    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// `GET url`, for `Range: bytes=first-last` when given; the token goes to the endpoint only
    /// (a redirect to a CDN never carries it).
    pub async fn get(
        &self,
        url: &str,
        range: Option<(u64, u64)>,
    ) -> Result<Answer<T::Body>, Failure> {
        let mut headers = Vec::new();
        if let Some((first, last)) = range {
            headers.push(("Range", format!("bytes={first}-{last}")));
        }
        if let Some(token) = self.token_for(url) {
            headers.push(("Authorization", format!("Bearer {token}")));
        }
        self.transport
            .get(url, &headers)
            .await
            .map_err(Failure::Transient)
    }

    fn token_for(&self, url: &str) -> Option<&str> {
        let endpoint = &self.settings.endpoint;
        let ours = url.starts_with(endpoint.as_str()) && url[endpoint.len()..].starts_with('/');
        self.settings.token.as_deref().filter(|_| ours)
    }

    /// The failure an unexpected status of `url` means.
    pub fn status_failure(&self, status: u16, url: &str) -> Failure {
        status_failure(status, url, self.settings.token.is_some())
    }

    /// A whole small file (a listing, config.json), at most `limit` bytes, retried as
    /// [`Retry`] allows.
    pub async fn get_whole(&self, url: &str, limit: u64) -> Result<Vec<u8>, Failure> {
        let mut retry = self.retry();
        loop {
            match self.get_whole_once(url, limit).await {
                Err(Failure::Transient(reason)) => retry.wait(&self.transport, reason).await?,
                done => return done,
            }
        }
    }

    async fn get_whole_once(&self, url: &str, limit: u64) -> Result<Vec<u8>, Failure> {
        let answer = self.get(url, None).await?;
        if answer.status != 200 {
            return Err(self.status_failure(answer.status, url));
        }
        let mut bytes = Vec::new();
        let cap = usize::try_from(limit)
            .unwrap_or(usize::MAX)
            .saturating_add(1);
        self.transport
            .append_body(answer.body, &mut bytes, cap)
            .await
            .map_err(|reason| Failure::Transient(format!("{url}: {reason}")))?;
        if bytes.len() as u64 > limit {
            return Err(Failure::Final(format!("{url}: larger than {limit} bytes")));
        }
        Ok(bytes)
    }

    /// The retry policy of one request.
    pub fn retry(&self) -> Retry {
        Retry {
            tries: 0,
            attempts: self.settings.attempts,
            first_backoff: self.settings.first_backoff,
        }
    }
}

/// Counts a request's tries; waits between them double from the first backoff (capped at 10 s).
#[derive(Debug)]
pub struct Retry {
    tries: u32,
    attempts: u32,
    first_backoff: Duration,
}

impl Retry {
    /// After a transient failure: waits and returns `Ok` when another try is allowed, else the
    /// failure made final.
    pub async fn wait<T: Transport>(
        &mut self,
        transport: &T,
        reason: String,
    ) -> Result<(), Failure> {
        self.tries += 1;
        if self.tries >= self.attempts {
            let tries = self.tries;
            return Err(Failure::Final(format!("{reason} (after {tries} tries)")));
        }
        transport.sleep(self.backoff()).await;
        Ok(())
    }

    fn backoff(&self) -> Duration {
        let doubled = self
            .first_backoff
            .saturating_mul(1 << (self.tries - 1).min(16));
        doubled.min(Duration::from_secs(10))
    }
}
