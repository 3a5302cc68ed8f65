//! One hub file as a [`TensorSource`]: read by range requests in blocks, a few of them kept for
//! the merge's repeated passes, the blocks always fetched in file order so the whole file's
//! sha256 is checked against the hub's once the merge has read to its end.

use std::collections::VecDeque;
use std::sync::Arc;

use futures_util::lock::Mutex;
use sha2::{Digest, Sha256};

use super::client::HubClient;
use super::integrity::{hex, Published};
use super::transport::{Failure, Transport};
use crate::error::{MergeError, Result};
use crate::io::source::{check_range, TensorSource};

/// Bytes per range request: big enough that a request's latency is small beside its transfer.
pub const BLOCK_BYTES: u64 = 8 << 20;
/// Blocks kept per file, for statistics passes that read a tensor again.
const KEPT_BLOCKS: usize = 3;

/// Where a file's blocks go as they are hashed, in order (`--cache`): `complete` once the
/// whole file has come and matched its published hash.
pub trait BlockKeeper: Send {
    fn append(&mut self, block: &[u8]) -> Result<()>;
    fn complete(&mut self) -> Result<()>;
}

/// A file on the hub, read as the merge asks for its bytes.
#[derive(Debug)]
pub struct HttpSource<T> {
    name: String,
    url: String,
    size: u64,
    published: Published,
    client: Arc<HubClient<T>>,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    kept: VecDeque<(u64, Arc<Vec<u8>>)>,
    /// Blocks below this one have been hashed, in order.
    hashed_blocks: u64,
    hasher: Sha256,
    /// The first response's ETag: a later one that differs means the file changed.
    etag: Option<String>,
    /// Where the resolve URL redirected (a CDN), asked directly until it stops answering.
    location: Option<String>,
    /// Set when the hash did not match: every later read fails the same way.
    corrupt: Option<String>,
    /// Bytes read once (the header), until the hashed blocks holding them confirm them.
    read_once: Vec<(u64, Vec<u8>)>,
    keeper: Option<Box<dyn BlockKeeper>>,
}

impl std::fmt::Debug for dyn BlockKeeper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BlockKeeper")
    }
}

impl<T: Transport> HttpSource<T> {
    /// `name` is what errors call the file (`owner/name@revision/file`).
    pub fn new(
        name: String,
        url: String,
        size: u64,
        published: Published,
        client: Arc<HubClient<T>>,
    ) -> Self {
        HttpSource {
            name,
            url,
            size,
            published,
            client,
            state: Mutex::new(State {
                kept: VecDeque::new(),
                hashed_blocks: 0,
                hasher: Sha256::new(),
                etag: None,
                location: None,
                corrupt: None,
                read_once: Vec::new(),
                keeper: None,
            }),
        }
    }

    /// Also hands every block, in order, to `keeper`.
    pub fn keeping(self, keeper: Option<Box<dyn BlockKeeper>>) -> Self {
        let mut state = self.state.into_inner();
        state.keeper = keeper;
        HttpSource {
            state: Mutex::new(state),
            ..self
        }
    }

    fn blocks(&self) -> u64 {
        self.size.div_ceil(BLOCK_BYTES)
    }

    fn error(&self, reason: impl Into<String>) -> MergeError {
        MergeError::io(&self.name, std::io::Error::other(reason.into()))
    }

    /// Block `index`, kept or fetched; blocks not yet hashed are fetched in order up to it.
    async fn block(&self, state: &mut State, index: u64) -> Result<Arc<Vec<u8>>> {
        if let Some(reason) = &state.corrupt {
            return Err(self.error(reason.clone()));
        }
        if let Some((_, block)) = state.kept.iter().find(|(i, _)| *i == index) {
            return Ok(block.clone());
        }
        if index < state.hashed_blocks {
            let block = Arc::new(self.fetch_block(state, index).await?);
            keep(state, index, block.clone());
            return Ok(block);
        }
        loop {
            let next = state.hashed_blocks;
            let block = Arc::new(self.fetch_block(state, next).await?);
            state.hasher.update(block.as_slice());
            self.confirm_read_once(state, next, &block)?;
            if let Some(keeper) = state.keeper.as_mut() {
                keeper.append(&block)?;
            }
            state.hashed_blocks += 1;
            keep(state, next, block.clone());
            if state.hashed_blocks == self.blocks() {
                self.check_hash(state)?;
                if let Some(mut keeper) = state.keeper.take() {
                    keeper.complete()?;
                }
            }
            if next == index {
                return Ok(block);
            }
        }
    }

    /// The header bytes the model was opened with must be the bytes the hash covers.
    fn confirm_read_once(&self, state: &mut State, index: u64, block: &[u8]) -> Result<()> {
        let block_start = index * BLOCK_BYTES;
        let block_end = block_start + block.len() as u64;
        for (offset, bytes) in &state.read_once {
            let from = (*offset).max(block_start);
            let to = (offset + bytes.len() as u64).min(block_end);
            if from >= to {
                continue;
            }
            let seen = &bytes[(from - offset) as usize..(to - offset) as usize];
            if seen != &block[(from - block_start) as usize..(to - block_start) as usize] {
                let reason = format!(
                    "bytes {from}..{to} came back different from when the header was read: the file changed or was corrupted in transit"
                );
                state.corrupt = Some(reason.clone());
                return Err(self.error(reason));
            }
        }
        state
            .read_once
            .retain(|(offset, bytes)| offset + bytes.len() as u64 > block_end);
        Ok(())
    }

    fn check_hash(&self, state: &mut State) -> Result<()> {
        let Published::Sha256(want) = &self.published else {
            return Ok(());
        };
        let got = hex(&std::mem::take(&mut state.hasher).finalize());
        if got.eq_ignore_ascii_case(want) {
            return Ok(());
        }
        let reason = format!(
            "the streamed bytes hash to sha256 {got}, the hub publishes {want}: the file changed or was corrupted in transit"
        );
        state.corrupt = Some(reason.clone());
        Err(self.error(reason))
    }

    async fn fetch_block(&self, state: &mut State, index: u64) -> Result<Vec<u8>> {
        let start = index * BLOCK_BYTES;
        let len = BLOCK_BYTES.min(self.size - start) as usize;
        self.fetch_exact(state, start, len).await
    }

    /// The `len` bytes at `start`, by as many requests as faults make it take.
    async fn fetch_exact(&self, state: &mut State, start: u64, len: usize) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(len);
        let mut retry = self.client.retry();
        loop {
            let failure = match self.fetch_more(state, start, len, &mut out).await {
                Ok(()) => return Ok(out),
                Err(Failure::Transient(reason)) => {
                    match retry.wait(self.client.transport(), reason).await {
                        Ok(()) => continue,
                        Err(failure) => failure,
                    }
                }
                Err(failure) => failure,
            };
            return Err(self.error(failure.reason().to_string()));
        }
    }

    /// One request for the bytes of `[start, start + len)` not yet in `out`; a body cut
    /// short keeps what came and is [`Failure::Transient`], so the retry resumes after it.
    async fn fetch_more(
        &self,
        state: &mut State,
        start: u64,
        len: usize,
        out: &mut Vec<u8>,
    ) -> std::result::Result<(), Failure> {
        let first = start + out.len() as u64;
        let last = start + len as u64 - 1;
        let url = state.location.clone().unwrap_or_else(|| self.url.clone());
        let answer = self.client.get(&url, Some((first, last))).await?;
        let status = answer.status;
        if status != 206 {
            // A CDN link that expired (403/404) is re-resolved through the hub.
            if state.location.is_some() && matches!(status, 401 | 403 | 404 | 410) {
                state.location = None;
                return Err(Failure::Transient(format!("HTTP {status} from {url}")));
            }
            return Err(match status {
                200 => Failure::Final(format!(
                    "{url} ignored the byte range asked for (HTTP 200, not 206)"
                )),
                _ => self.client.status_failure(status, &url),
            });
        }
        self.check_answer(state, answer.content_range.as_deref(), answer.etag, first)?;
        if answer.url != self.url {
            state.location = Some(answer.url);
        }
        let before = out.len();
        let want = len - before;
        let broke = self
            .client
            .transport()
            .append_body(answer.body, out, want)
            .await
            .err();
        let got = out.len() - before;
        match (got == want, broke) {
            (true, _) => Ok(()),
            (false, Some(reason)) => Err(Failure::Transient(format!(
                "{url}: the body broke off after {got} of {want} bytes ({reason})"
            ))),
            (false, None) => Err(Failure::Transient(format!(
                "{url}: the body ended after {got} of {want} bytes"
            ))),
        }
    }

    /// `Content-Range` must start where asked and give the listing's size; the ETag must not
    /// change between requests.
    fn check_answer(
        &self,
        state: &mut State,
        content_range: Option<&str>,
        etag: Option<String>,
        first: u64,
    ) -> std::result::Result<(), Failure> {
        let range = content_range.unwrap_or_default();
        let Some((from, total)) = parse_content_range(range) else {
            return Err(Failure::Final(format!(
                "the answer's Content-Range `{range}` is not a byte range"
            )));
        };
        if total != self.size {
            return Err(Failure::Final(format!(
                "the hub lists {} bytes, the file served has {total}: it changed or is truncated",
                self.size
            )));
        }
        if from != first {
            return Err(Failure::Final(format!(
                "asked for bytes from {first}, the answer starts at {from}"
            )));
        }
        if let Some(etag) = etag {
            match &state.etag {
                None => state.etag = Some(etag),
                Some(seen) if *seen != etag => {
                    return Err(Failure::Final(format!(
                        "the file changed while it was read (ETag {seen}, now {etag})"
                    )))
                }
                Some(_) => {}
            }
        }
        Ok(())
    }
}

fn keep(state: &mut State, index: u64, block: Arc<Vec<u8>>) {
    state.kept.push_back((index, block));
    if state.kept.len() > KEPT_BLOCKS {
        state.kept.pop_front();
    }
}

/// `bytes FIRST-LAST/TOTAL` → (FIRST, TOTAL).
fn parse_content_range(value: &str) -> Option<(u64, u64)> {
    let rest = value.trim().strip_prefix("bytes ")?;
    let (span, total) = rest.split_once('/')?;
    let (first, _) = span.split_once('-')?;
    Some((first.trim().parse().ok()?, total.trim().parse().ok()?))
}

impl<T: Transport> TensorSource for HttpSource<T> {
    fn name(&self) -> &str {
        &self.name
    }

    fn size(&self) -> u64 {
        self.size
    }

    /// A header's bytes by one request of just them: opening a model reads its headers, not a
    /// block per file. They are checked again when the merge streams the file's blocks and
    /// hashes them. A file of one block (or bytes in kept blocks) is read as blocks: whole, so
    /// its hash is checked before its header is parsed.
    async fn read_once(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        check_range(&self.name, self.size, offset, buf.len())?;
        if buf.is_empty() {
            return Ok(());
        }
        let mut state = self.state.lock().await;
        let end = offset + buf.len() as u64;
        let kept = |index: u64| state.kept.iter().any(|(i, _)| *i == index);
        if self.blocks() == 1 || (offset / BLOCK_BYTES..=(end - 1) / BLOCK_BYTES).all(kept) {
            drop(state);
            return self.read_range(offset, buf).await;
        }
        let bytes = self.fetch_exact(&mut state, offset, buf.len()).await?;
        buf.copy_from_slice(&bytes);
        if offset / BLOCK_BYTES >= state.hashed_blocks {
            state.read_once.push((offset, bytes));
        }
        Ok(())
    }

    async fn read_range(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        check_range(&self.name, self.size, offset, buf.len())?;
        if buf.is_empty() {
            return Ok(());
        }
        // One reader at a time per file: the blocks come in order for the hash anyway.
        let mut state = self.state.lock().await;
        let end = offset + buf.len() as u64;
        let mut at = offset;
        while at < end {
            let index = at / BLOCK_BYTES;
            let block = self.block(&mut state, index).await?;
            let block_start = index * BLOCK_BYTES;
            let from = (at - block_start) as usize;
            let take = (block.len() - from).min((end - at) as usize);
            let to = (at - offset) as usize;
            buf[to..to + take].copy_from_slice(&block[from..from + take]);
            at += take as u64;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::parse_content_range;

    #[test]
    fn content_ranges() {
        assert_eq!(parse_content_range("bytes 0-99/1000"), Some((0, 1000)));
        assert_eq!(parse_content_range("bytes 200-299/300"), Some((200, 300)));
        assert_eq!(parse_content_range("bytes */1000"), None);
        assert_eq!(parse_content_range(""), None);
    }
}
