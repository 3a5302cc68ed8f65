//! Scores a model on a demo task: exact-match accuracy of greedy decoding, the share of answer
//! characters it gets right given the true prefix, and the mean loss of the answer tokens. No file access, so the page runs the same code on fetched bytes.

use burn::prelude::Tensor;
use serde::Serialize;

use super::tasks::TaskExample;
use crate::error::{MergeError, Result};
use crate::eval::perplexity::{data_f32, read_f32};
use crate::eval::sampling::argmax;
use crate::model::{Model, TextTokenizer};

/// A named held-out set, named after its file (`addition.jsonl` → `addition`).
#[derive(Debug, Clone, PartialEq)]
pub struct TaskSet {
    pub name: String,
    pub examples: Vec<TaskExample>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskScore {
    pub task: String,
    pub examples: usize,
    /// Share of examples whose greedy continuation of the prompt is exactly the answer.
    pub exact_match: f64,
    /// Share of answer tokens (the end token included) that are the argmax given the true
    /// prefix: partial credit where exact match gives none.
    pub char_accuracy: f64,
    /// Mean negative log-likelihood per answer token (the end token included), in nats.
    pub answer_loss: f64,
}

/// What one example's forward pass says.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExampleScore {
    pub exact: bool,
    /// Answer tokens (the end included) that are the argmax given the true prefix.
    pub correct_tokens: usize,
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
    let scores = examples
        .iter()
        .map(|example| score_example(model, tokenizer, end_token, example))
        .collect::<Result<Vec<_>>>()?;
    summarise(task, &scores)
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
    let pass = TeacherForced::new(tokenizer, end_token, example)?;
    let logits = model.forward(&pass.input, &mut model.new_cache())?;
    Ok(pass.judge(&data_f32(pass.answer_logits(logits).into_data())?))
}

/// [`score_task`] reading results back asynchronously, as WebGPU in the browser requires.
pub async fn score_task_async(
    model: &Model,
    tokenizer: &TextTokenizer,
    end_token: u32,
    task: &str,
    examples: &[TaskExample],
) -> Result<TaskScore> {
    let mut scores = Vec::with_capacity(examples.len());
    for example in examples {
        let pass = TeacherForced::new(tokenizer, end_token, example)?;
        let logits = model.forward(&pass.input, &mut model.new_cache())?;
        scores.push(pass.judge(&read_f32(pass.answer_logits(logits)).await?));
    }
    summarise(task, &scores)
}

/// The task's score from its examples' scores.
fn summarise(task: &str, scores: &[ExampleScore]) -> Result<TaskScore> {
    if scores.is_empty() {
        return Err(MergeError::config(task, "no examples to score"));
    }
    let exact = scores.iter().filter(|s| s.exact).count();
    let nll: f64 = scores.iter().map(|s| s.nll).sum();
    let tokens: usize = scores.iter().map(|s| s.answer_tokens).sum();
    let correct: usize = scores.iter().map(|s| s.correct_tokens).sum();
    Ok(TaskScore {
        task: task.to_string(),
        examples: scores.len(),
        exact_match: exact as f64 / scores.len() as f64,
        char_accuracy: correct as f64 / tokens as f64,
        answer_loss: nll / tokens as f64,
    })
}

/// The tokens of one example's teacher-forced pass.
struct TeacherForced {
    input: Vec<u32>,
    prompt_len: usize,
    /// The answer's tokens and the end token: the targets from the prompt's last position on.
    answer: Vec<u32>,
}

impl TeacherForced {
    fn new(tokenizer: &TextTokenizer, end_token: u32, example: &TaskExample) -> Result<Self> {
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
        Ok(TeacherForced {
            input,
            prompt_len: prompt.len(),
            answer,
        })
    }

    /// The rows of `logits` that predict the answer tokens.
    fn answer_logits(&self, logits: Tensor<2>) -> Tensor<2> {
        let [rows, vocab] = logits.dims();
        logits.slice([self.prompt_len - 1..rows, 0..vocab])
    }

    /// Exact match and loss from the answer rows' values (row-major).
    fn judge(&self, values: &[f32]) -> ExampleScore {
        let vocab = values.len() / self.answer.len();
        let mut score = ExampleScore {
            exact: true,
            correct_tokens: 0,
            nll: 0.0,
            answer_tokens: self.answer.len(),
        };
        for (row, &target) in values.chunks_exact(vocab).zip(&self.answer) {
            let correct = argmax(row) == target;
            score.exact &= correct;
            score.correct_tokens += usize::from(correct);
            score.nll -= log_softmax_at(row, target as usize);
        }
        score
    }
}

fn log_softmax_at(logits: &[f32], index: usize) -> f64 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let sum: f64 = logits.iter().map(|&v| (v as f64 - max).exp()).sum();
    logits[index] as f64 - max - sum.ln()
}
