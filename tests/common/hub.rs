//! The Hugging Face hub emulator (www/tests/hub-emulator.mjs) and merges that read from it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::AtomicBool;

use mixmerge::io::HubSettings;
use mixmerge::native::{merge_to_folder, prepare_with, read_config, MergeOptions};
use mixmerge::Result;

/// The emulator, serving `root` (`owner/name/` for revision main, `owner/name@rev/` for others)
/// until dropped.
pub struct Emulator {
    child: Child,
    pub endpoint: String,
}

impl Emulator {
    pub fn start(root: &Path, flags: &[&str]) -> Emulator {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("www/tests/hub-emulator.mjs");
        let node = std::env::var("NODE").unwrap_or_else(|_| "node".to_string());
        let mut child = Command::new(&node)
            .arg(&script)
            .arg(root)
            .args(flags)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("the hub tests need Node.js (`{node}`): {e}"));
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let info: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("emulator said {line:?}: {e}"));
        Emulator {
            child,
            endpoint: info["endpoint"].as_str().unwrap().to_string(),
        }
    }

    /// This hub, with `cache` as the Hugging Face cache.
    pub fn settings(&self, cache: &Path) -> HubSettings {
        HubSettings {
            cache: Some(cache.to_path_buf()),
            ..HubSettings::for_endpoint(&self.endpoint)
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// Copies the files (not subfolders) of `from` into `to`.
pub fn copy_folder(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
    }
}

/// Merges `config` (written into `dir/<tag>.yml`) into `dir/out-<tag>` with seed 7, hub models
/// from `settings`.
pub fn merge_hub(dir: &Path, config: &str, settings: &HubSettings, tag: &str) -> Result<PathBuf> {
    let path = dir.join(format!("{tag}.yml"));
    std::fs::write(&path, config).unwrap();
    let prepared = prepare_with(read_config(&path)?, Some(7), settings)?;
    let out = dir.join(format!("out-{tag}"));
    merge_to_folder(
        &prepared,
        &out,
        &MergeOptions::default(),
        &AtomicBool::new(false),
        &mut |_| {},
    )?;
    Ok(out)
}
