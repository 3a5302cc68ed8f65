//! Hub ids as mergekit recipes write them: `owner/name`, optionally `@revision`.

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

/// A model on the hub at one revision (a branch, a tag or a commit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubModel {
    /// `owner/name`.
    pub repo: String,
    /// `main` unless the reference says `@revision`.
    pub revision: String,
}

impl HubModel {
    /// `owner/name` or `owner/name@revision`; `None` for anything else.
    pub fn parse(reference: &str) -> Option<HubModel> {
        let (repo, revision) = match reference.split_once('@') {
            Some((repo, revision)) => (repo, revision),
            None => (reference, "main"),
        };
        let legal_revision = !revision.is_empty()
            && !revision.starts_with('/')
            && !revision.contains("..")
            && revision
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/'));
        (looks_like_hub_id(repo) && legal_revision).then(|| HubModel {
            repo: repo.to_string(),
            revision: revision.to_string(),
        })
    }

    /// `owner/name@revision`, as messages name it.
    pub fn label(&self) -> String {
        format!("{}@{}", self.repo, self.revision)
    }

    /// A revision that is already a commit hash needs no `refs/` lookup.
    pub fn is_commit(&self) -> bool {
        self.revision.len() == 40 && self.revision.chars().all(|c| c.is_ascii_hexdigit())
    }
}

#[cfg(test)]
mod tests {
    use super::{looks_like_hub_id, HubModel};

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

    #[test]
    fn revisions() {
        let plain = HubModel::parse("Qwen/Qwen2.5-0.5B").unwrap();
        assert_eq!(
            (plain.repo.as_str(), plain.revision.as_str()),
            ("Qwen/Qwen2.5-0.5B", "main")
        );
        let tagged = HubModel::parse("org/model@v1.0").unwrap();
        assert_eq!(tagged.revision, "v1.0");
        assert_eq!(tagged.label(), "org/model@v1.0");
        let pinned = HubModel::parse("org/model@0123456789abcdef0123456789abcdef01234567").unwrap();
        assert!(pinned.is_commit() && !tagged.is_commit());
        assert!(HubModel::parse("org/model@").is_none());
        assert!(HubModel::parse("org/model@../x").is_none());
        assert!(HubModel::parse("./org/model").is_none());
        assert!(HubModel::parse("model@main").is_none());
    }
}
