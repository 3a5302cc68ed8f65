//! [`Transport`] for native runs: one ureq agent (a connection pool, rustls), blocking.

use std::io::Read;
use std::time::Duration;

use ureq::{Agent, Body, ResponseExt};

use super::transport::{Answer, Transport};

#[derive(Debug)]
pub struct UreqTransport {
    agent: Agent,
}

impl Default for UreqTransport {
    fn default() -> Self {
        let config = Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(30)))
            .timeout_per_read(Some(Duration::from_secs(60)))
            .save_redirect_history(true)
            .build();
        UreqTransport {
            agent: config.into(),
        }
    }
}

impl Transport for UreqTransport {
    type Body = Body;

    async fn get(&self, url: &str, headers: &[(&str, String)]) -> Result<Answer<Body>, String> {
        let mut request = self.agent.get(url);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let response = request.call().map_err(|e| format!("{url}: {e}"))?;
        let header = |name: &str| {
            let value = response.headers().get(name)?.to_str().ok()?;
            Some(value.to_string())
        };
        Ok(Answer {
            status: response.status().as_u16(),
            url: response.get_uri().to_string(),
            content_range: header("content-range"),
            etag: header("etag"),
            body: response.into_body(),
        })
    }

    async fn append_body(&self, body: Body, out: &mut Vec<u8>, want: usize) -> Result<(), String> {
        let mut reader = body.into_reader().take(want as u64);
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

    async fn sleep(&self, wait: Duration) {
        std::thread::sleep(wait);
    }
}
