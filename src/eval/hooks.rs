//! What a caller sees of a running evaluation: each new token as soon as it is chosen, and a
//! pause before every forward pass where it may yield (the page's worker reads its messages
//! then) or stop the run.

use crate::error::Result;

#[allow(async_fn_in_trait)]
pub trait EvalHooks {
    /// Called before every forward pass; an error (usually `EvaluationCancelled`) ends the run with it.
    async fn before_pass(&mut self) -> Result<()> {
        Ok(())
    }

    /// A new token, as soon as generation chose it.
    fn token(&mut self, _token: u32) {}
}

/// No streaming, no cancellation.
impl EvalHooks for () {}

/// Streams each new token to a closure (the CLI prints it).
pub struct OnToken<F>(pub F);

impl<F: FnMut(u32)> EvalHooks for OnToken<F> {
    fn token(&mut self, token: u32) {
        (self.0)(token)
    }
}
