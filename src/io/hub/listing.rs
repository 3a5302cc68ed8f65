//! A model's files at one revision, from the hub's API (`/api/models/<repo>/revision/<rev>`
//! with `blobs=true`): names, sizes, hashes, and the commit the revision points at.

use serde::Deserialize;

use super::integrity::Published;

/// One file of the repository.
#[derive(Debug, Clone)]
pub struct RepoFile {
    pub name: String,
    pub size: u64,
    pub published: Published,
}

/// A revision's commit and files.
#[derive(Debug, Clone)]
pub struct Listing {
    pub commit: String,
    pub files: Vec<RepoFile>,
}

#[derive(Deserialize)]
struct ApiModel {
    sha: String,
    #[serde(default)]
    siblings: Vec<ApiSibling>,
}

#[derive(Deserialize)]
struct ApiSibling {
    rfilename: String,
    size: Option<u64>,
    #[serde(rename = "blobId")]
    blob_id: Option<String>,
    lfs: Option<ApiLfs>,
}

#[derive(Deserialize)]
struct ApiLfs {
    sha256: String,
    size: u64,
}

/// A listing's largest plausible size: models list thousands of files, not millions.
pub const LISTING_LIMIT: u64 = 64 << 20;

impl Listing {
    /// Parses the API's JSON; `Err` says what is wrong with it.
    pub fn parse(bytes: &[u8]) -> Result<Listing, String> {
        let api: ApiModel = serde_json::from_slice(bytes)
            .map_err(|e| format!("the hub's file listing is not valid ({e})"))?;
        let commit_like = api.sha.len() == 40 && api.sha.chars().all(|c| c.is_ascii_hexdigit());
        if !commit_like {
            return Err(format!(
                "the hub's listing names commit `{}`, not a commit hash",
                api.sha
            ));
        }
        let mut files = Vec::new();
        for sibling in api.siblings {
            let (size, published) = match (sibling.lfs, sibling.blob_id) {
                (Some(lfs), _) => (Some(lfs.size), Published::Sha256(lfs.sha256)),
                (None, Some(blob)) => (sibling.size, Published::GitBlob(blob)),
                (None, None) => (sibling.size, Published::Unknown),
            };
            let Some(size) = size else {
                return Err(format!(
                    "the hub's listing gives no size for {}",
                    sibling.rfilename
                ));
            };
            files.push(RepoFile {
                name: sibling.rfilename,
                size,
                published,
            });
        }
        Ok(Listing {
            commit: api.sha,
            files,
        })
    }

    pub fn file(&self, name: &str) -> Option<&RepoFile> {
        self.files.iter().find(|f| f.name == name)
    }

    /// Files at the top of the repository (not in a subfolder) ending in `.ext`, by name.
    pub fn top_level_with_extension(&self, ext: &str) -> Vec<&RepoFile> {
        let mut found: Vec<&RepoFile> = self
            .files
            .iter()
            .filter(|f| !f.name.contains('/'))
            .filter(|f| {
                f.name
                    .rsplit_once('.')
                    .is_some_and(|(_, e)| e.eq_ignore_ascii_case(ext))
            })
            .collect();
        found.sort_by(|a, b| a.name.cmp(&b.name));
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_sizes_and_hashes() {
        let json = br#"{"sha": "0123456789abcdef0123456789abcdef01234567", "siblings": [
            {"rfilename": "config.json", "size": 12, "blobId": "ce013625030ba8dba906f756967f9e9ca394464a"},
            {"rfilename": "model.safetensors", "size": 130, "blobId": "x",
             "lfs": {"sha256": "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03", "size": 4096, "pointerSize": 130}},
            {"rfilename": "sub/model.safetensors", "size": 1, "blobId": "y"}]}"#;
        let listing = Listing::parse(json).unwrap();
        assert_eq!(listing.commit, "0123456789abcdef0123456789abcdef01234567");
        let weights = listing.file("model.safetensors").unwrap();
        assert_eq!(weights.size, 4096);
        assert!(matches!(weights.published, Published::Sha256(_)));
        assert!(matches!(
            listing.file("config.json").unwrap().published,
            Published::GitBlob(_)
        ));
        let top: Vec<_> = listing
            .top_level_with_extension("safetensors")
            .iter()
            .map(|f| f.name.as_str())
            .collect();
        assert_eq!(top, ["model.safetensors"]);
    }

    #[test]
    fn rejects_a_listing_without_a_commit() {
        let err = Listing::parse(br#"{"sha": "main", "siblings": []}"#).unwrap_err();
        assert!(err.contains("commit"), "{err}");
        assert!(Listing::parse(b"<html>").is_err());
    }
}
