//! Chat prompts from a model's Jinja chat template (GGUF's `tokenizer.chat_template`), rendered
//! with minijinja the way Hugging Face's `apply_chat_template` renders them.

use minijinja::syntax::SyntaxConfig;
use minijinja::{context, Environment, Error, ErrorKind, Value};

use crate::error::{MergeError, Result};

pub struct ChatMessage {
    /// `system`, `user` or `assistant`.
    pub role: String,
    pub content: String,
}

/// A template and the special tokens it may name.
#[derive(Debug, Clone)]
pub struct ChatTemplate {
    /// The file the template came from; errors name it.
    pub source: String,
    pub template: String,
    pub bos_token: String,
    pub eos_token: String,
}

impl ChatTemplate {
    /// The prompt text for `messages`; `add_generation_prompt` opens the assistant's turn.
    pub fn render(&self, messages: &[ChatMessage], add_generation_prompt: bool) -> Result<String> {
        let fail = |e: Error| MergeError::Tokenizer {
            file: self.source.clone(),
            reason: format!("chat template: {e}"),
        };
        let mut env = Environment::new();
        // As Hugging Face renders them: a block tag's newline and indentation are dropped.
        let syntax = SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()
            .map_err(fail)?;
        env.set_syntax(syntax);
        // Templates call this to reject a conversation (e.g. roles out of order).
        env.add_function(
            "raise_exception",
            |message: String| -> std::result::Result<Value, Error> {
                Err(Error::new(ErrorKind::InvalidOperation, message))
            },
        );
        let template = env.template_from_str(&self.template).map_err(fail)?;
        let messages: Value = messages
            .iter()
            .map(|m| context! { role => m.role.as_str(), content => m.content.as_str() })
            .collect();
        template
            .render(context! {
                messages,
                add_generation_prompt,
                bos_token => self.bos_token.as_str(),
                eos_token => self.eos_token.as_str(),
            })
            .map_err(fail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(text: &str) -> ChatTemplate {
        ChatTemplate {
            source: "m.gguf".into(),
            template: text.into(),
            bos_token: "<s>".into(),
            eos_token: "</s>".into(),
        }
    }

    fn user(content: &str) -> ChatMessage {
        ChatMessage {
            role: "user".into(),
            content: content.into(),
        }
    }

    #[test]
    fn messages_roles_and_the_generation_prompt_reach_the_template() {
        let chat = template(
            "{{ bos_token }}{% for m in messages %}[{{ m['role'] }}] {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}[assistant]{% endif %}",
        );
        assert_eq!(
            chat.render(&[user("hi"), user("there")], true).unwrap(),
            "<s>[user] hi\n[user] there\n[assistant]"
        );
        assert_eq!(chat.render(&[user("hi")], false).unwrap(), "<s>[user] hi\n");
    }

    #[test]
    fn block_tags_leave_no_newlines_or_indentation() {
        let chat = template("{% for m in messages %}\n  {% if true %}\n{{ m.content }}\n  {% endif %}\n{% endfor %}");
        assert_eq!(
            chat.render(&[user("hi"), user("there")], false).unwrap(),
            "hi\nthere\n"
        );
    }

    #[test]
    fn template_errors_name_the_file() {
        let raising = template("{{ raise_exception('roles must alternate') }}");
        let message = raising.render(&[user("hi")], true).unwrap_err().to_string();
        assert!(
            message.contains("m.gguf") && message.contains("roles must alternate"),
            "{message}"
        );
        let broken = template("{% for m in messages %}");
        let message = broken.render(&[], true).unwrap_err().to_string();
        assert!(message.contains("m.gguf"), "{message}");
    }
}
