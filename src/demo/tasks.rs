//! The demo's procedurally generated tasks (descending, sorting, successors) and the mixed
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
    /// `desc:dbca=` → `dcba`: the letters in reverse alphabetical order.
    Descending,
    /// `sort:dbca=` → `abcd`: the letters in alphabetical order.
    Sorting,
    /// `succ:dbza=` → `abce`: the letter after each letter (z → a), in alphabetical order.
    Successors,
}

impl DemoTask {
    /// In the order of their task files' names.
    pub const ALL: [DemoTask; 3] = [
        DemoTask::Descending,
        DemoTask::Sorting,
        DemoTask::Successors,
    ];

    pub fn name(self) -> &'static str {
        match self {
            DemoTask::Descending => "descending",
            DemoTask::Sorting => "sorting",
            DemoTask::Successors => "successors",
        }
    }

    /// One random instance. Every task draws the same kind of word, 3 to 5 distinct letters
    /// neither in alphabetical nor in reverse order, so no task's answer is another's and no
    /// answer is a copy of the prompt's word. Each next answer letter depends only on the letter
    /// before it and on the set of letters in the prompt, which attention finds by content.
    pub fn example(self, rng: &mut ChaCha8Rng) -> TaskExample {
        let word = unordered_word(rng);
        let mut letters: Vec<char> = word.chars().collect();
        let prefix = match self {
            DemoTask::Descending => {
                letters.sort_unstable_by(|a, b| b.cmp(a));
                "desc"
            }
            DemoTask::Sorting => {
                letters.sort_unstable();
                "sort"
            }
            DemoTask::Successors => {
                letters = letters.into_iter().map(next_letter).collect();
                letters.sort_unstable();
                "succ"
            }
        };
        TaskExample {
            prompt: format!("{prefix}:{word}="),
            answer: letters.into_iter().collect(),
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

/// The base model's mixed corpus: copying (half the lines: it grows the induction heads that
/// every task reuses), counting and plain words and numbers, which teach the characters and the
/// `prompt=answer` shape but none of the tasks.
pub fn pretraining_line(rng: &mut ChaCha8Rng) -> TaskExample {
    match rng.random_range(0..6) {
        0..=2 => {
            let word = letters(rng, 2, 7);
            TaskExample {
                prompt: format!("copy:{word}="),
                answer: word,
            }
        }
        3 => {
            let start = number(rng, 3);
            let run: Vec<String> = (1..=3).map(|i| (start + i).to_string()).collect();
            TaskExample {
                prompt: format!("next:{start}="),
                answer: run.join(","),
            }
        }
        4 => {
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

/// 3 to 5 distinct letters, neither ascending nor descending.
fn unordered_word(rng: &mut ChaCha8Rng) -> String {
    loop {
        let len = rng.random_range(3..=5usize);
        let mut word: Vec<u8> = Vec::with_capacity(len);
        while word.len() < len {
            let letter = b'a' + rng.random_range(0..26u8);
            if !word.contains(&letter) {
                word.push(letter);
            }
        }
        let ascending = word.windows(2).all(|w| w[0] < w[1]);
        let descending = word.windows(2).all(|w| w[0] > w[1]);
        if !ascending && !descending {
            return word.into_iter().map(char::from).collect();
        }
    }
}

fn next_letter(c: char) -> char {
    match c {
        'z' => 'a',
        _ => (c as u8 + 1) as char,
    }
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

    fn word_of(prompt: &str) -> &str {
        &prompt[prompt.find(':').unwrap() + 1..prompt.len() - 1]
    }

    #[test]
    fn examples_are_correct_instances_of_their_task() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for _ in 0..200 {
            let sort = DemoTask::Sorting.example(&mut rng);
            let word = word_of(&sort.prompt);
            assert!(sort.prompt.starts_with("sort:"), "{sort:?}");
            assert!((3..=5).contains(&word.len()), "{sort:?}");
            let mut given: Vec<char> = word.chars().collect();
            given.sort_unstable();
            assert_eq!(sort.answer, given.iter().collect::<String>());
            assert!(
                sort.answer.as_bytes().windows(2).all(|w| w[0] < w[1]),
                "{sort:?}"
            );
            assert_ne!(sort.answer, word, "already sorted: {sort:?}");
            let descending: String = sort.answer.chars().rev().collect();
            assert_ne!(descending, word, "already descending: {sort:?}");

            let desc = DemoTask::Descending.example(&mut rng);
            assert!(desc.prompt.starts_with("desc:"), "{desc:?}");
            let mut given: Vec<char> = word_of(&desc.prompt).chars().collect();
            given.sort_unstable();
            assert_eq!(desc.answer, given.iter().rev().collect::<String>());

            let succ = DemoTask::Successors.example(&mut rng);
            assert!(succ.prompt.starts_with("succ:"), "{succ:?}");
            let mut shifted: Vec<u8> = word_of(&succ.prompt)
                .bytes()
                .map(|c| b'a' + (c - b'a' + 1) % 26)
                .collect();
            shifted.sort_unstable();
            assert_eq!(succ.answer.as_bytes(), shifted, "{succ:?}");
        }
    }

    #[test]
    fn no_task_answers_like_another_or_copies_its_word() {
        // Experts then score near zero on each other's tasks, and a copying base on all.
        for seed in 0..300 {
            let answers = DemoTask::ALL.map(|t| t.example(&mut ChaCha8Rng::seed_from_u64(seed)));
            let word = word_of(&answers[0].prompt);
            for (i, a) in answers.iter().enumerate() {
                assert_ne!(a.answer, word, "{a:?}");
                for b in &answers[i + 1..] {
                    assert_ne!(a.answer, b.answer, "{a:?} {b:?}");
                }
            }
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
