//! The GPU code's module graph has no import circle: runtime ← kernels ← orchestration. Every
//! `super::…` and `crate::gpu::…` path in `src/gpu` (tests excluded) is an edge from its file's
//! module to the deepest module it names; a parent's `pub use` of a child is an edge too, so a
//! child importing through its parent's re-exports closes a circle and fails here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// `gpu::runtime::buffers` for `src/gpu/runtime/buffers.rs`; `gpu::runtime` for its `mod.rs`.
fn module_of(root: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(root).expect("under the root");
    let mut parts: Vec<String> = vec!["gpu".into()];
    for component in relative.components() {
        let name = component.as_os_str().to_string_lossy();
        match name.strip_suffix(".rs") {
            Some("mod") => {}
            Some(stem) => parts.push(stem.to_string()),
            None => parts.push(name.to_string()),
        }
    }
    parts.join("::")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The modules `source` (the text of `module`'s file) names, resolved against `modules`: its
/// `super::` and `crate::gpu::` paths and its `use`s of its own children; unit tests left out.
fn imports(module: &str, source: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let code = match source.find("\nmod tests {") {
        Some(end) => &source[..source[..end].rfind("#[cfg(").unwrap_or(end)],
        None => source,
    };
    let code: String = code
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let own: Vec<&str> = module.split("::").collect();
    // `super` is the parent module, in a `mod.rs` as in any other file.
    let parent = &own[..own.len() - 1];
    let mut found = BTreeSet::new();
    for line in code.lines() {
        let line = line.trim_start();
        let used = ["use ", "pub use ", "pub(crate) use "]
            .iter()
            .find_map(|prefix| line.strip_prefix(prefix));
        let Some(first) = used.and_then(|path| path.split("::").next()) else {
            continue;
        };
        let child = format!("{module}::{first}");
        if modules.contains(&child) {
            found.insert(child);
        }
    }
    let bytes = code.as_bytes();
    let mut at = 0;
    while at < code.len() {
        let rest = &code[at..];
        let (mut path, skip): (Vec<String>, usize) = if rest.starts_with("crate::gpu::") {
            (vec!["gpu".into()], "crate::gpu::".len())
        } else if rest.starts_with("super::")
            && (at == 0 || !(bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_'))
        {
            let mut base: Vec<String> = parent.iter().map(|s| s.to_string()).collect();
            let mut skip = "super::".len();
            while code[at + skip..].starts_with("super::") {
                base.pop();
                skip += "super::".len();
            }
            (base, skip)
        } else {
            at += rest.chars().next().map_or(1, char::len_utf8);
            continue;
        };
        let tail: String = code[at + skip..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        for segment in tail.split("::").filter(|s| !s.is_empty()) {
            path.push(segment.to_string());
        }
        while !path.is_empty() && !modules.contains(&path.join("::")) {
            path.pop();
        }
        let target = path.join("::");
        if !target.is_empty() && target != module {
            found.insert(target);
        }
        at += skip + tail.len();
    }
    found
}

/// A circle in `graph`, as its modules in order, if there is one.
fn find_circle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_string(), 1);
        stack.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            match state.get(next.as_str()).copied().unwrap_or(0) {
                1 => {
                    let start = stack.iter().position(|m| m == next).expect("on the stack");
                    let mut circle = stack[start..].to_vec();
                    circle.push(next.clone());
                    return Some(circle);
                }
                0 => {
                    if let Some(circle) = visit(next, graph, state, stack) {
                        return Some(circle);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(node.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if state.get(node.as_str()).copied().unwrap_or(0) == 0 {
            if let Some(circle) = visit(node, graph, &mut state, &mut Vec::new()) {
                return Some(circle);
            }
        }
    }
    None
}

fn gpu_graph() -> BTreeMap<String, BTreeSet<String>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/gpu");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(&root, f)).collect();
    files
        .iter()
        .map(|file| {
            let module = module_of(&root, file);
            let source = std::fs::read_to_string(file).expect("readable source");
            let edges = imports(&module, &source, &modules);
            (module, edges)
        })
        .collect()
}

#[test]
fn the_gpu_modules_import_without_a_circle() {
    let graph = gpu_graph();
    assert!(graph.contains_key("gpu::runtime::buffers"), "{graph:?}");
    if let Some(circle) = find_circle(&graph) {
        panic!("import circle in src/gpu: {}", circle.join(" → "));
    }
}

#[test]
fn the_runtime_imports_no_kernel_and_no_orchestration() {
    for (module, edges) in gpu_graph() {
        if module.starts_with("gpu::runtime") {
            for target in &edges {
                assert!(
                    target.starts_with("gpu::runtime"),
                    "{module} imports {target}, above the runtime"
                );
            }
        }
        if module.starts_with("gpu::kernels") {
            for target in &edges {
                assert!(
                    target.starts_with("gpu::runtime") || target.starts_with("gpu::kernels"),
                    "{module} imports {target}, above the kernels"
                );
            }
        }
    }
}

#[test]
fn the_circle_finder_finds_a_planted_circle() {
    let modules: BTreeSet<String> = ["gpu", "gpu::a", "gpu::b"].map(String::from).into();
    let a = imports("gpu::a", "use super::b::Thing;", &modules);
    let b = imports("gpu::b", "fn f() { crate::gpu::a::g() }", &modules);
    let graph = BTreeMap::from([("gpu::a".to_string(), a), ("gpu::b".to_string(), b)]);
    let circle = find_circle(&graph).expect("a → b → a");
    assert_eq!(circle.len(), 3, "{circle:?}");
    // A child importing through its parent's re-export: gpu::a → gpu → gpu::a.
    let parent = imports("gpu", "mod a;\npub use a::Thing;", &modules);
    let child = imports("gpu::a", "use super::Thing;", &modules);
    assert_eq!(parent, BTreeSet::from(["gpu::a".to_string()]));
    let graph = BTreeMap::from([("gpu".to_string(), parent), ("gpu::a".to_string(), child)]);
    assert!(find_circle(&graph).is_some());
}
