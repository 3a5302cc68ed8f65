//! The demo's procedurally generated tasks and the base model's pre-training corpus, all
//! deterministic from a seed; held-out sets as `{prompt, answer}` jsonl.
//!
//! Every task has a distinct tag and comes in two levels: *easy* instances (short inputs) are in
//! the base's pre-training mixture with correct answers, *hard* ones (longer inputs) are what an
//! expert is fine-tuned and scored on. Sorting and descending share their inputs (lower-case
//! letters) and ask for opposite orders: the deliberately conflicting pair. Successors (upper-case
//! letters) and unique (digits) read disjoint alphabets, so with sorting they make a
//! complementary set.

use std::collections::HashSet;
use std::ops::RangeInclusive;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{MergeError, Result};

/// Ends every answer; the models' end-of-sequence token.
pub const END: char = '\n';

/// Every character the demo texts use, in token-id order after `<unk>`.
pub const ALPHABET: &str = "\n 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+=:,";

/// One prompt in this many belongs to the held-out pool (by a hash of the prompt): held-out sets
/// draw only from it and every training stream skips it, whatever the lengths drawn.
const HELD_OUT_POOL: u64 = 8;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TaskExample {
    pub prompt: String,
    pub answer: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DemoTask {
    /// `desc:dbca=` → `dcba`: lower-case letters in reverse alphabetical order.
    Descending,
    /// `sort:dbca=` → `abcd`: lower-case letters in alphabetical order.
    Sorting,
    /// `succ:QDZB=` → `ACER`: each upper-case letter's successor (Z → A), in alphabetical order.
    Successors,
    /// `uniq:373181=` → `1378`: the distinct digits, in ascending order.
    Unique,
}

/// How long a task's inputs are: short ones make most of the base's pre-training, a few longer
/// ones the rest of it, and the longest are what an expert is fine-tuned and scored on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Easy,
    /// The longer instances in the base's pre-training (as long as `Hard` but for `uniq:`,
    /// which the base otherwise learns too well to leave its expert much to gain).
    Medium,
    Hard,
}

impl DemoTask {
    /// In the order of their task files' names.
    pub const ALL: [DemoTask; 4] = [
        DemoTask::Descending,
        DemoTask::Sorting,
        DemoTask::Successors,
        DemoTask::Unique,
    ];

    pub fn name(self) -> &'static str {
        match self {
            DemoTask::Descending => "descending",
            DemoTask::Sorting => "sorting",
            DemoTask::Successors => "successors",
            DemoTask::Unique => "unique",
        }
    }

    /// The task whose [`DemoTask::name`] is `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        DemoTask::ALL.into_iter().find(|t| t.name() == name)
    }

    pub fn tag(self) -> &'static str {
        match self {
            DemoTask::Descending => "desc",
            DemoTask::Sorting => "sort",
            DemoTask::Successors => "succ",
            DemoTask::Unique => "uniq",
        }
    }

    /// How many symbols the input has at `level`.
    pub fn input_length(self, level: Level) -> RangeInclusive<usize> {
        match (self, level) {
            (DemoTask::Unique, Level::Easy) => 3..=5,
            (DemoTask::Unique, Level::Medium) => 6..=9,
            (DemoTask::Unique, Level::Hard) => 8..=11,
            (_, Level::Easy) => 3..=4,
            (_, Level::Medium | Level::Hard) => 5..=7,
        }
    }

    /// One random instance at `level`. Each next answer symbol follows from the symbol before
    /// it and the *set* of input symbols, which attention finds by content. Words are never
    /// already in the answer's order, so no answer is a copy of its input.
    pub fn example(self, rng: &mut ChaCha8Rng, level: Level) -> TaskExample {
        let length = self.input_length(level);
        let (word, answer): (Vec<u8>, Vec<u8>) = match self {
            DemoTask::Descending => {
                let word = unordered_word(rng, b'a', 26, length);
                let mut answer = word.clone();
                answer.sort_unstable_by(|a, b| b.cmp(a));
                (word, answer)
            }
            DemoTask::Sorting => {
                let word = unordered_word(rng, b'a', 26, length);
                let mut answer = word.clone();
                answer.sort_unstable();
                (word, answer)
            }
            DemoTask::Successors => {
                let word = unordered_word(rng, b'A', 26, length);
                let mut answer: Vec<u8> =
                    word.iter().map(|&c| b'A' + (c - b'A' + 1) % 26).collect();
                answer.sort_unstable();
                (word, answer)
            }
            DemoTask::Unique => {
                let word = repeating_word(rng, b'0', 10, length);
                let mut answer = word.clone();
                answer.sort_unstable();
                answer.dedup();
                (word, answer)
            }
        };
        TaskExample {
            prompt: format!(
                "{}:{}=",
                self.tag(),
                String::from_utf8(word).expect("ascii")
            ),
            answer: String::from_utf8(answer).expect("ascii"),
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

    /// `count` distinct hard examples from the held-out pool, drawn from `seed`.
    pub fn held_out(self, seed: u64, count: usize) -> Vec<TaskExample> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut seen = HashSet::new();
        let mut examples = Vec::with_capacity(count);
        while examples.len() < count {
            let example = self.example(&mut rng, Level::Hard);
            if is_held_out(&example.prompt) && seen.insert(example.prompt.clone()) {
                examples.push(example);
            }
        }
        examples
    }
}

impl DemoTask {
    /// `count` distinct hard examples from the held-out pool that are not in `held_out`: a
    /// split to choose merges on, disjoint from training and from the final scores' set.
    pub fn search_split(
        self,
        seed: u64,
        count: usize,
        held_out: &[TaskExample],
    ) -> Vec<TaskExample> {
        let taken: HashSet<&str> = held_out.iter().map(|e| e.prompt.as_str()).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(derive_seed(seed, 300));
        let mut seen = HashSet::new();
        let mut examples = Vec::with_capacity(count);
        while examples.len() < count {
            let example = self.example(&mut rng, Level::Hard);
            let fresh = !taken.contains(example.prompt.as_str());
            if fresh && is_held_out(&example.prompt) && seen.insert(example.prompt.clone()) {
                examples.push(example);
            }
        }
        examples
    }
}

/// Whether `prompt` is in the held-out pool (never trained on).
pub fn is_held_out(prompt: &str) -> bool {
    let hash = prompt.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    derive_seed(hash, 7) % HELD_OUT_POOL == 0
}

/// An endless stream of one task's training examples at `level` from `seed`, never one from
/// the held-out pool (so evaluation measures generalisation, not recall).
pub struct TrainingStream {
    task: DemoTask,
    level: Level,
    rng: ChaCha8Rng,
}

impl TrainingStream {
    pub fn new(task: DemoTask, level: Level, seed: u64) -> Self {
        TrainingStream {
            task,
            level,
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    pub fn next_example(&mut self) -> TaskExample {
        training_example(self.task, self.level, &mut self.rng)
    }
}

fn training_example(task: DemoTask, level: Level, rng: &mut ChaCha8Rng) -> TaskExample {
    loop {
        let example = task.example(rng, level);
        if !is_held_out(&example.prompt) {
            return example;
        }
    }
}

/// Share of the pre-training task lines that are longer (medium) instances: enough for the base to
/// half-solve them (a transformer this small does not extrapolate to longer answers by itself),
/// few enough that an expert still has most of its task to gain.
const PRETRAINING_MEDIUM_SHARE: f64 = 0.03;

/// The base model's mixed corpus: instances of every task with correct answers, mostly easy (60 %
/// of the lines, so the base learns each tag's grammar), and generic text: copying, counting,
/// words and numbers.
pub fn pretraining_line(rng: &mut ChaCha8Rng) -> TaskExample {
    match rng.random_range(0..20) {
        0..=11 => {
            let task = DemoTask::ALL[rng.random_range(0..DemoTask::ALL.len())];
            let level = match rng.random_bool(PRETRAINING_MEDIUM_SHARE) {
                true => Level::Medium,
                false => Level::Easy,
            };
            training_example(task, level, rng)
        }
        12..=13 => {
            let word = letters(rng, 2, 6);
            TaskExample {
                prompt: format!("copy:{word}="),
                answer: word,
            }
        }
        14..=15 => {
            let start = number(rng, 3);
            let run: Vec<String> = (1..=3).map(|i| (start + i).to_string()).collect();
            TaskExample {
                prompt: format!("next:{start}="),
                answer: run.join(","),
            }
        }
        16..=17 => {
            let words: Vec<String> = (0..rng.random_range(2..5))
                .map(|_| match rng.random_bool(0.5) {
                    true => letters(rng, 2, 6),
                    false => letters(rng, 2, 6).to_uppercase(),
                })
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

/// `n` distinct symbols from `first..first + count`, in the order drawn.
fn distinct_symbols(rng: &mut ChaCha8Rng, first: u8, count: u8, n: usize) -> Vec<u8> {
    let mut symbols: Vec<u8> = Vec::with_capacity(n);
    while symbols.len() < n {
        let symbol = first + rng.random_range(0..count);
        if !symbols.contains(&symbol) {
            symbols.push(symbol);
        }
    }
    symbols
}

/// Distinct symbols from `first..first + count`, `length` of them, neither ascending nor
/// descending.
fn unordered_word(
    rng: &mut ChaCha8Rng,
    first: u8,
    count: u8,
    length: RangeInclusive<usize>,
) -> Vec<u8> {
    loop {
        let len = rng.random_range(length.clone());
        let word = distinct_symbols(rng, first, count, len);
        let ascending = word.windows(2).all(|w| w[0] < w[1]);
        let descending = word.windows(2).all(|w| w[0] > w[1]);
        if !ascending && !descending {
            return word;
        }
    }
}

/// Symbols from `first..first + count`, `length` of them, with at least one repeated and at
/// least two distinct, not in ascending order.
fn repeating_word(
    rng: &mut ChaCha8Rng,
    first: u8,
    count: u8,
    length: RangeInclusive<usize>,
) -> Vec<u8> {
    loop {
        let len = rng.random_range(length.clone());
        let distinct = rng.random_range(2..len);
        let pool = distinct_symbols(rng, first, count, distinct);
        // Every pool letter at least once, the rest drawn from the pool, then shuffled.
        let mut word = pool.clone();
        while word.len() < len {
            word.push(pool[rng.random_range(0..distinct)]);
        }
        for i in (1..word.len()).rev() {
            word.swap(i, rng.random_range(0..=i));
        }
        if !word.windows(2).all(|w| w[0] <= w[1]) {
            return word;
        }
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
        for level in [Level::Easy, Level::Medium, Level::Hard] {
            for _ in 0..200 {
                for task in DemoTask::ALL {
                    let example = task.example(&mut rng, level);
                    let word = word_of(&example.prompt);
                    assert!(example.prompt.starts_with(&format!("{}:", task.tag())));
                    assert!(
                        task.input_length(level).contains(&word.len()),
                        "{example:?}"
                    );
                    let mut expected: Vec<u8> = match task {
                        DemoTask::Successors => {
                            word.bytes().map(|c| b'A' + (c - b'A' + 1) % 26).collect()
                        }
                        _ => word.bytes().collect(),
                    };
                    expected.sort_unstable();
                    if task == DemoTask::Unique {
                        expected.dedup();
                        assert!(expected.len() < word.len(), "no repeat: {example:?}");
                    }
                    if task == DemoTask::Descending {
                        expected.reverse();
                    }
                    assert_eq!(example.answer.as_bytes(), expected, "{example:?}");
                    assert_ne!(example.answer, word, "a copy: {example:?}");
                }
            }
        }
    }

    #[test]
    fn each_task_reads_its_own_alphabet() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..100 {
            let words = DemoTask::ALL.map(|t| t.example(&mut rng, Level::Hard).prompt);
            let [desc, sort, succ, uniq] = words.each_ref().map(|p| word_of(p).to_string());
            assert!(desc
                .bytes()
                .chain(sort.bytes())
                .all(|c| c.is_ascii_lowercase()));
            assert!(succ.bytes().all(|c| c.is_ascii_uppercase()), "{succ}");
            assert!(uniq.bytes().all(|c| c.is_ascii_digit()), "{uniq}");
        }
    }

    #[test]
    fn the_held_out_pool_is_about_an_eighth_of_prompts_and_streams_skip_it() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let prompts: Vec<String> = (0..8000)
            .map(|_| DemoTask::Sorting.example(&mut rng, Level::Hard).prompt)
            .collect();
        let pooled = prompts.iter().filter(|p| is_held_out(p)).count();
        assert!((800..1200).contains(&pooled), "{pooled} of 8000");
        let mut stream = TrainingStream::new(DemoTask::Sorting, Level::Hard, 4);
        assert!((0..2000).all(|_| !is_held_out(&stream.next_example().prompt)));
    }

    #[test]
    fn the_search_split_is_fresh_distinct_and_held_out() {
        let held_out = DemoTask::Sorting.held_out(DemoTask::Sorting.held_out_seed(0), 200);
        let split = DemoTask::Sorting.search_split(5, 100, &held_out);
        assert_eq!(split.len(), 100);
        let prompts: HashSet<&str> = split.iter().map(|e| e.prompt.as_str()).collect();
        assert_eq!(prompts.len(), 100);
        assert!(held_out
            .iter()
            .all(|e| !prompts.contains(e.prompt.as_str())));
        assert!(split.iter().all(|e| is_held_out(&e.prompt)));
        assert_eq!(split, DemoTask::Sorting.search_split(5, 100, &held_out));
        assert_eq!(
            DemoTask::from_name("successors"),
            Some(DemoTask::Successors)
        );
        assert_eq!(DemoTask::from_name("nope"), None);
    }

    #[test]
    fn every_generated_character_is_in_the_alphabet() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let texts = (0..200).flat_map(|_| {
            let line = pretraining_line(&mut rng);
            let tasks = DemoTask::ALL.map(|t| t.example(&mut rng, Level::Hard));
            std::iter::once(line).chain(tasks)
        });
        for example in texts {
            let text = format!("{}{}{END}", example.prompt, example.answer);
            assert!(text.chars().all(|c| ALPHABET.contains(c)), "{text:?}");
        }
    }
}
