//! A model folder's `tokenizer_config.json`: Hugging Face keeps the chat template and the BOS/EOS
//! texts it writes there (or the template in `chat_template.jinja`), not in `tokenizer.json`.

use serde_json::Value;

use super::{ChatTemplate, TextTokenizer};
use crate::error::{MergeError, Result};

/// What a folder model's chat needs from `tokenizer_config.json`.
#[derive(Debug, Clone, Default)]
pub struct TokenizerConfig {
    pub chat_template: Option<ChatTemplate>,
    /// The end-of-sequence text (`<|im_end|>` for chat models); generation stops on its id too.
    pub eos_token: Option<String>,
}

impl TokenizerConfig {
    /// Parses `tokenizer_config.json` (`file` names it in errors); `jinja` is the text of a
    /// `chat_template.jinja` beside it, which takes precedence as it does in transformers.
    pub fn parse(file: &str, bytes: &[u8], jinja: Option<(&str, &str)>) -> Result<Self> {
        let fail = |reason: String| MergeError::Tokenizer {
            file: file.to_string(),
            reason,
        };
        let json: Value = serde_json::from_slice(bytes).map_err(|e| fail(e.to_string()))?;
        let bos_token = special_token(&json, "bos_token").map_err(fail)?;
        let eos_token = special_token(&json, "eos_token").map_err(fail)?;
        let (source, template) = match jinja {
            Some((jinja_file, text)) => (jinja_file.to_string(), Some(text.to_string())),
            None => (
                file.to_string(),
                default_template(&json["chat_template"]).map_err(fail)?,
            ),
        };
        let chat_template = template.map(|template| ChatTemplate {
            source,
            template,
            bos_token: bos_token.clone().unwrap_or_default(),
            eos_token: eos_token.clone().unwrap_or_default(),
        });
        Ok(TokenizerConfig {
            chat_template,
            eos_token,
        })
    }
}

impl TokenizerConfig {
    /// Adds the EOS token's id to `stops` (chat models end a turn with it, while `config.json`
    /// may name another id).
    pub fn add_stop_token(&self, stops: &mut Vec<u32>, tokenizer: &TextTokenizer) {
        let id = self
            .eos_token
            .as_deref()
            .and_then(|t| tokenizer.token_id(t));
        if let Some(id) = id.filter(|id| !stops.contains(id)) {
            stops.push(id);
        }
    }
}

/// `bos_token`/`eos_token`: a string, an added-token object `{"content": …}`, or absent/null.
fn special_token(json: &Value, key: &str) -> std::result::Result<Option<String>, String> {
    match &json[key] {
        Value::Null => Ok(None),
        Value::String(text) => Ok(Some(text.clone())),
        Value::Object(token) => match token.get("content") {
            Some(Value::String(text)) => Ok(Some(text.clone())),
            _ => Err(format!("`{key}` is an object without a string `content`")),
        },
        other => Err(format!("`{key}` is {other}, not a string")),
    }
}

/// `chat_template`: one template, or named templates of which the chat uses `default`.
fn default_template(value: &Value) -> std::result::Result<Option<String>, String> {
    match value {
        Value::Null => Ok(None),
        Value::String(text) => Ok(Some(text.clone())),
        Value::Array(named) => Ok(named
            .iter()
            .find(|t| t["name"] == "default")
            .and_then(|t| t["template"].as_str().map(String::from))),
        other => Err(format!(
            "`chat_template` is {other}, not a string or a list of named templates"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<TokenizerConfig> {
        TokenizerConfig::parse("m/tokenizer_config.json", json.as_bytes(), None)
    }

    #[test]
    fn tokens_as_strings_or_added_token_objects_reach_the_template() {
        let config = parse(
            r#"{"chat_template": "{{ bos_token }}{{ messages[0].content }}{{ eos_token }}",
                "bos_token": {"content": "<s>", "special": true}, "eos_token": "</s>"}"#,
        )
        .unwrap();
        let template = config.chat_template.unwrap();
        assert_eq!(
            (template.bos_token.as_str(), template.eos_token.as_str()),
            ("<s>", "</s>")
        );
        assert_eq!(template.source, "m/tokenizer_config.json");
        assert_eq!(config.eos_token.as_deref(), Some("</s>"));
    }

    #[test]
    fn named_templates_give_the_default_one_and_jinja_files_win() {
        let json = r#"{"chat_template": [{"name": "tool_use", "template": "T"},
            {"name": "default", "template": "D"}], "bos_token": null}"#;
        let template = parse(json).unwrap().chat_template.unwrap();
        assert_eq!(
            (template.template.as_str(), template.bos_token.as_str()),
            ("D", "")
        );
        let jinja = Some(("m/chat_template.jinja", "J"));
        let config = TokenizerConfig::parse("m/tokenizer_config.json", json.as_bytes(), jinja);
        let template = config.unwrap().chat_template.unwrap();
        assert_eq!(
            (template.template.as_str(), template.source.as_str()),
            ("J", "m/chat_template.jinja")
        );
        assert!(parse("{}").unwrap().chat_template.is_none());
    }

    #[test]
    fn malformed_configs_name_the_file_and_key() {
        for (json, key) in [
            ("{not json", "tokenizer_config.json"),
            (r#"{"eos_token": 2}"#, "`eos_token` is 2"),
            (r#"{"bos_token": {"id": 1}}"#, "`bos_token` is an object"),
            (r#"{"chat_template": 7}"#, "`chat_template` is 7"),
        ] {
            let message = parse(json).unwrap_err().to_string();
            assert!(
                message.contains("m/tokenizer_config.json") && message.contains(key),
                "{message}"
            );
        }
    }
}
