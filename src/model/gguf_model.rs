//! A model from one GGUF file: config from its metadata, weights dequantised to f32 under their
//! Hugging Face names, tokenizer from `tokenizer.ggml.*`. Reads through a `TensorSource`, so the
//! browser loads a `File` the same way.

use burn::prelude::Device;

use super::{ChatTemplate, LoadedModel, Model, TextTokenizer, WeightSource};
use crate::error::Result;
use crate::io::gguf::{GgufFile, GgufTokenizer};
use crate::io::TensorSource;

/// End-of-turn tokens that llama.cpp also stops on when the vocabulary marks them as control.
const END_OF_TURN: [&str; 4] = ["<|endoftext|>", "<|im_end|>", "<|eot_id|>", "<|end|>"];

impl<S: TensorSource> WeightSource for GgufFile<S> {
    fn source_name(&self) -> &str {
        self.source().name()
    }

    fn shape_of(&self, tensor: &str) -> Option<Vec<usize>> {
        self.tensor(tensor).map(|t| t.shape.clone())
    }

    async fn read_f32(&self, tensor: &str) -> Result<Vec<f32>> {
        let count = self.tensor(tensor).map_or(0, |t| t.numel());
        let mut values = vec![0f32; count];
        GgufFile::read_f32(self, tensor, 0, &mut values).await?;
        Ok(values)
    }
}

/// The model, tokenizer and stop tokens of an opened GGUF file.
pub async fn load_gguf<S: TensorSource>(
    file: &GgufFile<S>,
    device: &Device,
) -> Result<LoadedModel> {
    let gguf_tokenizer = file.tokenizer()?;
    let tokenizer = TextTokenizer::from_gguf(file.source().name(), &gguf_tokenizer)?;
    let config = file.hf_config()?.to_config_json()?;
    let model = Model::load(&config, file, device).await?;
    Ok(LoadedModel {
        model,
        tokenizer,
        stop_tokens: stop_tokens(&gguf_tokenizer),
        chat_template: chat_template(file.source().name(), &gguf_tokenizer),
    })
}

/// `tokenizer.chat_template`, with the BOS and EOS texts templates may write.
fn chat_template(source: &str, gguf: &GgufTokenizer) -> Option<ChatTemplate> {
    let text = |id: Option<u32>| {
        id.map(|id| gguf.tokens[id as usize].clone())
            .unwrap_or_default()
    };
    gguf.chat_template.as_ref().map(|template| ChatTemplate {
        source: source.to_string(),
        template: template.clone(),
        bos_token: text(gguf.bos_token_id),
        eos_token: text(gguf.eos_token_id),
    })
}

/// EOS and the control tokens that end a turn.
fn stop_tokens(gguf: &GgufTokenizer) -> Vec<u32> {
    let control = |id: usize| gguf.token_types.as_ref().is_some_and(|t| t[id] == 3);
    let mut stops: Vec<u32> = gguf.eos_token_id.into_iter().collect();
    for (id, token) in gguf.tokens.iter().enumerate() {
        if control(id) && END_OF_TURN.contains(&token.as_str()) && !stops.contains(&(id as u32)) {
            stops.push(id as u32);
        }
    }
    stops
}
