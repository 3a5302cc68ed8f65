//! The hashes the hub publishes for its files: sha256 for LFS files (the weights), the git blob
//! id (sha1 of `blob <len>\0` and the bytes) for the small ones kept in git.

use sha1::Sha1;
use sha2::{Digest, Sha256};

/// What a file's bytes must hash to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Published {
    Sha256(String),
    GitBlob(String),
    /// The listing gave no hash: only the size is checked.
    Unknown,
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub fn git_blob_id(bytes: &[u8]) -> String {
    let mut hasher = Sha1::new();
    hasher.update(format!("blob {}\0", bytes.len()).as_bytes());
    hasher.update(bytes);
    hex(&hasher.finalize())
}

impl Published {
    /// `None` when `bytes` match; else why not.
    pub fn mismatch(&self, bytes: &[u8]) -> Option<String> {
        let (kind, want, got) = match self {
            Published::Sha256(want) => ("sha256", want, sha256_hex(bytes)),
            Published::GitBlob(want) => ("git blob id", want, git_blob_id(bytes)),
            Published::Unknown => return None,
        };
        (!want.eq_ignore_ascii_case(&got))
            .then(|| format!("its {kind} is {got}, the hub publishes {want}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_match_git_and_sha256sum() {
        // `printf 'hello\n' | git hash-object --stdin` and `| sha256sum`.
        assert_eq!(
            git_blob_id(b"hello\n"),
            "ce013625030ba8dba906f756967f9e9ca394464a"
        );
        assert_eq!(
            sha256_hex(b"hello\n"),
            "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
        );
        assert_eq!(
            Published::GitBlob("ce013625030ba8dba906f756967f9e9ca394464a".into())
                .mismatch(b"hello\n"),
            None
        );
        let wrong = Published::Sha256("00".into()).mismatch(b"hello\n").unwrap();
        assert!(
            wrong.contains("sha256") && wrong.contains("5891b5"),
            "{wrong}"
        );
        assert_eq!(Published::Unknown.mismatch(b"x"), None);
    }
}
