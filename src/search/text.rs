//! A text's perplexity as a search objective. The text is cut in two at the line break (else
//! the space) nearest its middle: the first half is the search split, the second is held out.
//! Each half is tokenised on its own, as `mixmerge eval` tokenises a file, and scores as one
//! task whose answers are its tokens.

use crate::demo::score::TaskScore;
use crate::error::{MergeError, Result};
use crate::eval::{perplexity_async, Window};
use crate::model::{Model, TextTokenizer};

/// One half of the text, tokenised.
#[derive(Debug, Clone, PartialEq)]
pub struct TextPart {
    /// The text's name (its file's stem): the task name objectives use.
    pub name: String,
    pub tokens: Vec<u32>,
}

impl TextPart {
    /// Perplexity over half-overlapping windows of at most `window` tokens (and no more than
    /// the model's context), as a task score:
    /// `answer_loss` is the mean NLL per token; `exact_match` and `char_accuracy` are both the
    /// share of tokens the model ranks first.
    pub async fn score(&self, model: &Model, window: usize) -> Result<TaskScore> {
        let size = window.min(model.max_context().unwrap_or(usize::MAX));
        let window = Window::overlapping(size.min(self.tokens.len()).max(2));
        let report = perplexity_async(model, &self.tokens, window, &mut ()).await?;
        let top1 = report.top1_accuracy();
        Ok(TaskScore {
            task: self.name.clone(),
            examples: report.log_probs.len(),
            exact_match: top1,
            char_accuracy: top1,
            answer_loss: report.mean_nll(),
        })
    }
}

/// The text `text` called `name` (its file is `file`, for messages), cut into its search and
/// held-out halves and tokenised with `tokenizer`.
pub fn split_text(
    file: &str,
    name: &str,
    text: &str,
    tokenizer: &TextTokenizer,
) -> Result<(TextPart, TextPart)> {
    let (first, second) = text.split_at(cut_point(text));
    let part = |half: &str, which: &str| -> Result<TextPart> {
        let tokens = tokenizer.encode(half, true)?;
        if tokens.len() < 2 {
            return Err(MergeError::config(
                file,
                format!(
                    "its {which} half has {} tokens; perplexity needs at least 2 in each half",
                    tokens.len()
                ),
            ));
        }
        Ok(TextPart {
            name: name.to_string(),
            tokens,
        })
    };
    Ok((part(first, "first")?, part(second, "second")?))
}

/// Where the halves meet: after the line break nearest the middle, else before the space
/// nearest it, else at the middle character.
fn cut_point(text: &str) -> usize {
    let middle = text.len() / 2;
    let nearest = |positions: Vec<usize>| {
        positions
            .into_iter()
            .filter(|&p| p > 0 && p < text.len())
            .min_by_key(|&p| p.abs_diff(middle))
    };
    let trimmed = text.trim_end_matches('\n').len();
    let breaks: Vec<usize> = text[..trimmed]
        .match_indices('\n')
        .map(|(i, _)| i + 1)
        .collect();
    let spaces: Vec<usize> = text.match_indices(' ').map(|(i, _)| i).collect();
    nearest(breaks)
        .or_else(|| nearest(spaces))
        .unwrap_or_else(|| {
            (middle..=text.len())
                .find(|&i| text.is_char_boundary(i))
                .unwrap_or(text.len())
        })
}

#[cfg(test)]
mod tests {
    use super::cut_point;

    #[test]
    fn halves_meet_at_a_line_break_then_a_space_then_the_middle() {
        let text = "one two three\nfour\nfive six\n";
        assert_eq!(&text[cut_point(text)..], "four\nfive six\n");
        let text = "alpha beta gamma delta";
        assert_eq!(&text[cut_point(text)..], " gamma delta");
        assert_eq!(cut_point("abcdef"), 3);
        assert_eq!(cut_point("ééé"), 4, "a character boundary");
    }
}
