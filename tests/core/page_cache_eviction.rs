//! `mixmerge bench --cold` drops the inputs from the page cache before each timing: the files
//! must leave the cache and read back unchanged.
#![cfg(target_os = "linux")]

use std::io::Write;

use mixmerge::bench::{evict_from_page_cache, resident_pages};

#[test]
fn evicted_files_leave_the_page_cache_and_read_back_the_same() {
    // Under the target directory, which is on a disk (a tmpfs file cannot leave memory).
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let path = dir.path().join("input.safetensors");
    let bytes: Vec<u8> = (0..(8u32 << 20)).map(|i| (i % 253) as u8).collect();
    std::fs::File::create(&path)
        .unwrap()
        .write_all(&bytes)
        .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    let pages = resident_pages(&path).unwrap();
    assert!(pages > 0, "a file just read is cached");

    evict_from_page_cache(std::slice::from_ref(&path)).unwrap();
    let left = resident_pages(&path).unwrap();
    assert!(
        left < pages / 8,
        "{left} of {pages} pages still cached after eviction"
    );
    assert_eq!(std::fs::read(&path).unwrap(), bytes);

    let missing = dir.path().join("missing.safetensors");
    let error = evict_from_page_cache(&[missing]).unwrap_err().to_string();
    assert!(error.contains("missing.safetensors"), "{error}");
}
