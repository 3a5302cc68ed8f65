//! The demo's procedurally generated tasks (addition, reversal, sorting) and the mixed
//! pre-training corpus, all deterministic from a seed; held-out sets as `{prompt, answer}` jsonl.

use std::collections::HashSet;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{MergeError, Result};

/// Ends every answer; the models' end-of-sequence token.
pub const END: char = '\n';

/// Every character the demo texts use, in token-id order after `<unk>`.
pub const ALPHABET: &str = "\n 0123456789abcdefghijklmnopqrstuvwxyz+=:,";

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TaskExample {
    pub prompt: String,
    pub answer: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoTask {
    /// `12+34=` → `46`
    Addition,
    /// `rev:abcd=` → `dcba`
    Reversal,
    /// `sort:dbca=` → `abcd`
    Sorting,
}

impl DemoTask {
    pub const ALL: [DemoTask; 3] = [DemoTask::Addition, DemoTask::Reversal, DemoTask::Sorting];

    pub fn name(self) -> &'static str {
        match self {
            DemoTask::Addition => "addition",
            DemoTask::Reversal => "reversal",
            DemoTask::Sorting => "sorting",
        }
    }

    /// One random instance.
    pub fn example(self, rng: &mut ChaCha8Rng) -> TaskExample {
        match self {
            DemoTask::Addition => {
                let (a, b) = (number(rng, 2), number(rng, 2));
                TaskExample {
                    prompt: format!("{a}+{b}="),
                    answer: (a + b).to_string(),
                }
            }
            DemoTask::Reversal => {
                let word = letters(rng, 3, 5);
                TaskExample {
                    prompt: format!("rev:{word}="),
                    answer: word.chars().rev().collect(),
                }
            }
            DemoTask::Sorting => {
                let word = letters(rng, 3, 5);
                let mut sorted: Vec<char> = word.chars().collect();
                sorted.sort_unstable();
                TaskExample {
                    prompt: format!("sort:{word}="),
                    answer: sorted.into_iter().collect(),
                }
            }
        }
    }

    /// The seed of this task's held-out set in the run seeded `run_seed`.
    pub fn held_out_seed(self, run_seed: u64) -> u64 {
        let index = DemoTask::ALL
            .iter()
            .position(|&t| t == self)
            .expect("listed");
        derive_seed(run_seed, 100 + index as u64)
    }

    /// `count` distinct examples drawn from `seed` (a held-out set).
    pub fn held_out(self, seed: u64, count: usize) -> Vec<TaskExample> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut seen = HashSet::new();
        let mut examples = Vec::with_capacity(count);
        while examples.len() < count {
            let example = self.example(&mut rng);
            if seen.insert(example.prompt.clone()) {
                examples.push(example);
            }
        }
        examples
    }
}

/// An endless stream of training examples of one task from `seed`, never one whose prompt is
/// in `held_out` (so evaluation measures generalisation, not recall).
pub struct TrainingStream {
    task: DemoTask,
    rng: ChaCha8Rng,
    held_out: HashSet<String>,
}

impl TrainingStream {
    pub fn new(task: DemoTask, seed: u64, held_out: &[TaskExample]) -> Self {
        TrainingStream {
            task,
            rng: ChaCha8Rng::seed_from_u64(seed),
            held_out: held_out.iter().map(|e| e.prompt.clone()).collect(),
        }
    }

    pub fn next_example(&mut self) -> TaskExample {
        loop {
            let example = self.task.example(&mut self.rng);
            if !self.held_out.contains(&example.prompt) {
                return example;
            }
        }
    }
}

/// The base model's mixed corpus: copying, counting and plain words and numbers, which teach
/// the characters and the `prompt=answer` shape but none of the three tasks.
pub fn pretraining_line(rng: &mut ChaCha8Rng) -> TaskExample {
    match rng.random_range(0..4) {
        0 => {
            let word = letters(rng, 2, 7);
            TaskExample {
                prompt: format!("copy:{word}="),
                answer: word,
            }
        }
        1 => {
            let start = number(rng, 3);
            let run: Vec<String> = (1..=3).map(|i| (start + i).to_string()).collect();
            TaskExample {
                prompt: format!("next:{start}="),
                answer: run.join(","),
            }
        }
        2 => {
            let words: Vec<String> = (0..rng.random_range(2..5))
                .map(|_| letters(rng, 2, 6))
                .collect();
            TaskExample {
                prompt: String::new(),
                answer: words.join(" "),
            }
        }
        _ => {
            let numbers: Vec<String> = (0..rng.random_range(2..5))
                .map(|_| number(rng, 3).to_string())
                .collect();
            TaskExample {
                prompt: String::new(),
                answer: numbers.join(" "),
            }
        }
    }
}

/// A number of 1 to `max_digits` digits, the digit count drawn uniformly first (so short and
/// long operands are equally common).
fn number(rng: &mut ChaCha8Rng, max_digits: u32) -> u32 {
    let digits = rng.random_range(1..=max_digits);
    let low = if digits == 1 {
        0
    } else {
        10u32.pow(digits - 1)
    };
    rng.random_range(low..10u32.pow(digits))
}

fn letters(rng: &mut ChaCha8Rng, min: usize, max: usize) -> String {
    let len = rng.random_range(min..=max);
    (0..len)
        .map(|_| (b'a' + rng.random_range(0..26u8)) as char)
        .collect()
}

/// Independent seeds for each use of the run's seed (SplitMix64 of seed and purpose).
pub fn derive_seed(seed: u64, purpose: u64) -> u64 {
    let mut z = seed ^ purpose.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// One example per line, `{"prompt": …, "answer": …}`.
pub fn to_jsonl(examples: &[TaskExample]) -> String {
    let mut text = String::new();
    for example in examples {
        text.push_str(&serde_json::to_string(example).expect("strings serialise"));
        text.push('\n');
    }
    text
}

/// Parses a jsonl task file (`file` names it in errors, with the line); blank lines are skipped.
pub fn parse_jsonl(file: &str, text: &str) -> Result<Vec<TaskExample>> {
    let mut examples = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let example: TaskExample = serde_json::from_str(line).map_err(|e| MergeError::Config {
            key: format!("{file} line {}", index + 1),
            reason: format!("expected {{\"prompt\": …, \"answer\": …}}: {e}"),
        })?;
        examples.push(example);
    }
    if examples.is_empty() {
        return Err(MergeError::config(file, "no examples"));
    }
    Ok(examples)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples_are_correct_instances_of_their_task() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for _ in 0..50 {
            let add = DemoTask::Addition.example(&mut rng);
            let (a, b) = add.prompt.trim_end_matches('=').split_once('+').unwrap();
            let sum = a.parse::<u32>().unwrap() + b.parse::<u32>().unwrap();
            assert_eq!(add.answer, sum.to_string());
            let rev = DemoTask::Reversal.example(&mut rng);
            let word = &rev.prompt[4..rev.prompt.len() - 1];
            assert_eq!(rev.answer.chars().rev().collect::<String>(), word);
            let sort = DemoTask::Sorting.example(&mut rng);
            let mut chars: Vec<char> = sort.answer.chars().collect();
            assert!(chars.windows(2).all(|w| w[0] <= w[1]));
            chars.sort_unstable();
            let mut given: Vec<char> = sort.prompt[5..sort.prompt.len() - 1].chars().collect();
            given.sort_unstable();
            assert_eq!(chars, given);
        }
    }

    #[test]
    fn every_generated_character_is_in_the_alphabet() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let texts = (0..200).flat_map(|_| {
            let line = pretraining_line(&mut rng);
            let tasks = DemoTask::ALL.map(|t| t.example(&mut rng));
            std::iter::once(line).chain(tasks)
        });
        for example in texts {
            let text = format!("{}{}{END}", example.prompt, example.answer);
            assert!(text.chars().all(|c| ALPHABET.contains(c)), "{text:?}");
        }
    }
}
