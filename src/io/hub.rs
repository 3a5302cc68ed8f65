//! Telling a Hugging Face hub id from a local path, for the "download it first" error.

/// `owner/name` with hub-legal characters: what a mergekit recipe uses to name a hub model.
pub fn looks_like_hub_id(reference: &str) -> bool {
    let legal = |part: &str| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    };
    match reference.split_once('/') {
        Some((owner, name)) => !owner.starts_with('.') && legal(owner) && legal(name),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::looks_like_hub_id;

    #[test]
    fn hub_ids() {
        assert!(looks_like_hub_id("mistralai/Mistral-7B-v0.1"));
        assert!(looks_like_hub_id("Qwen/Qwen2.5-0.5B"));
        assert!(!looks_like_hub_id("./models/a"));
        assert!(!looks_like_hub_id("../a"));
        assert!(!looks_like_hub_id("/abs/path"));
        assert!(!looks_like_hub_id("a/b/c"));
        assert!(!looks_like_hub_id("model"));
        assert!(!looks_like_hub_id("owner/"));
        assert!(!looks_like_hub_id("owner/na me"));
    }
}
