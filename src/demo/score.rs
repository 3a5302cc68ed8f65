//! Scores a model on a demo task: exact-match accuracy of greedy decoding and the mean loss of
//! the answer tokens. No file access, so the page runs the same code on fetched bytes.

use serde::Serialize;

use super::tasks::TaskExample;
use crate::error::{MergeError, Result};
use crate::eval::perplexity::data_f32;
use crate::eval::sampling::argmax;
use crate::model::{Model, TextTokenizer};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskScore {
    pub task: String,
    pub examples: usize,
    /// Share of examples whose greedy continuation of the prompt is exactly the answer.
    pub exact_match: f64,
    /// Mean negative log-likelihood per answer token (the end token included), in nats.
    pub answer_loss: f64,
}

/// What one example's forward pass says.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExampleScore {
    pub exact: bool,
    /// Summed over the answer tokens.
    pub nll: f64,
    pub answer_tokens: usize,
}

/// Scores every example of `task`; the answer ends with `end_token` (the model's stop token).
pub fn score_task(
    model: &Model,
    tokenizer: &TextTokenizer,
    end_token: u32,
    task: &str,
    examples: &[TaskExample],
) -> Result<TaskScore> {
    if examples.is_empty() {
        return Err(MergeError::config(task, "no examples to score"));
    }
    let (mut exact, mut nll, mut tokens) = (0usize, 0.0f64, 0usize);
    for example in examples {
        let score = score_example(model, tokenizer, end_token, example)?;
        exact += usize::from(score.exact);
        nll += score.nll;
        tokens += score.answer_tokens;
    }
    Ok(TaskScore {
        task: task.to_string(),
        examples: examples.len(),
        exact_match: exact as f64 / examples.len() as f64,
        answer_loss: nll / tokens as f64,
    })
}

/// One teacher-forced pass over prompt, answer and end token. Greedy decoding reproduces the
/// answer exactly when every answer token (and then the end) is the argmax given the true prefix,
/// so one pass gives both the exact match and the loss (with the same tie rule as the sampler).
pub fn score_example(
    model: &Model,
    tokenizer: &TextTokenizer,
    end_token: u32,
    example: &TaskExample,
) -> Result<ExampleScore> {
    let prompt = tokenizer.encode(&example.prompt, false)?;
    if prompt.is_empty() {
        return Err(MergeError::config(
            "prompt",
            format!("`{}` encodes to no tokens", example.prompt),
        ));
    }
    let mut answer = tokenizer.encode(&example.answer, false)?;
    answer.push(end_token);
    let input: Vec<u32> = prompt
        .iter()
        .chain(&answer[..answer.len() - 1])
        .copied()
        .collect();
    let logits = model.forward(&input, &mut model.new_cache())?;
    let [rows, vocab] = logits.dims();
    let values = data_f32(logits.slice([prompt.len() - 1..rows, 0..vocab]).into_data())?;
    let mut score = ExampleScore {
        exact: true,
        nll: 0.0,
        answer_tokens: answer.len(),
    };
    for (row, &target) in values.chunks_exact(vocab).zip(&answer) {
        score.exact &= argmax(row) == target;
        score.nll -= log_softmax_at(row, target as usize);
    }
    Ok(score)
}

fn log_softmax_at(logits: &[f32], index: usize) -> f64 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let sum: f64 = logits.iter().map(|&v| (v as f64 - max).exp()).sum();
    logits[index] as f64 - max - sum.ln()
}
