//! Which files of a model folder matter, shared by the native opener and the browser.

/// Files copied from the base model so the merged folder loads with `from_pretrained`.
pub const TOKENIZER_FILES: [&str; 9] = [
    "tokenizer.json",
    "tokenizer_config.json",
    "tokenizer.model",
    "special_tokens_map.json",
    "vocab.json",
    "merges.txt",
    "added_tokens.json",
    "generation_config.json",
    "chat_template.jinja",
];

/// Pickle checkpoints run code when loaded; they are refused by extension.
pub const PICKLE_EXTENSIONS: [&str; 4] = ["bin", "pt", "pth", "ckpt"];
