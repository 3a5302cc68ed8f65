//! What an executor reports to, and asks, its caller: natively a progress bar and a flag, in the
//! browser the worker's messages and an output queue that must drain between chunks.

use std::future::Future;

use super::Progress;
use crate::error::Result;

pub trait ExecHooks {
    fn progress(&mut self, progress: Progress);
    fn cancelled(&self) -> bool;
    /// A one-line note for the person: a method merged on the CPU, the GPU given up.
    fn notice(&mut self, message: &str);
    /// Awaited after output bytes are written (the web waits for its file queue here).
    fn drain(&mut self) -> impl Future<Output = Result<()>>;
}
