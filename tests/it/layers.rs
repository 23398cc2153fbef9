//! Imports run one way: no circle between modules (`domain`, `config`, `brokers::kafka`,
//! `web::alerts`, …: a top-level module, or a child of one, counts as one node with all the
//! files below it). Read from the source, so a new circle fails CI with its path.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The module path of a source file: `src/web/alerts/rules.rs` → `["web", "alerts", "rules"]`.
fn module_of(file: &Path, src: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> =
        relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

fn rust_files(dir: &Path, into: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, into);
        } else if path.extension().is_some_and(|e| e == "rs") {
            into.push(path);
        }
    }
}

/// The node a path belongs to: its first two segments when they name a module, else its first.
fn node(path: &[String], modules: &BTreeSet<String>) -> String {
    let two = path.iter().take(2).cloned().collect::<Vec<_>>().join("::");
    if modules.contains(&two) { two } else { path.first().cloned().unwrap_or_default() }
}

/// Every `crate::…` path the code names (with `super::` resolved), tests left out.
fn references(code: &str, module: &[String]) -> Vec<Vec<String>> {
    let code = code.split("#[cfg(test)]").next().unwrap_or_default();
    // `super` of `a/b.rs` and of `a/b/mod.rs` (both module `a::b`) is `a`.
    let mut found = Vec::new();
    let bytes = code.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let Some(rest) = code.get(i..) else {
            i += 1;
            continue;
        };
        let before = if i == 0 { b' ' } else { bytes[i - 1] };
        let boundary = !(before.is_ascii_alphanumeric() || before == b'_' || before == b':');
        let (base, skip) = if boundary && rest.starts_with("crate::") {
            (Vec::new(), "crate::".len())
        } else if boundary && rest.starts_with("super::") {
            let mut ups = 0;
            let mut tail = rest;
            while let Some(t) = tail.strip_prefix("super::") {
                ups += 1;
                tail = t;
            }
            (module[..module.len().saturating_sub(ups)].to_vec(), rest.len() - tail.len())
        } else {
            i += 1;
            continue;
        };
        let tail = &code[i + skip..];
        let mut path = base;
        if let Some(list) = tail.strip_prefix('{') {
            // `crate::{a::b, c}`: each item's first segments.
            let end = list.find('}').unwrap_or(list.len());
            for item in list[..end].split(',') {
                let mut p = path.clone();
                p.extend(segments(item.trim()));
                found.push(p);
            }
        } else {
            path.extend(segments(tail));
            found.push(path);
        }
        i += skip;
    }
    found
}

/// The leading lower-case segments of a path (`web::alerts::Thing` → `web`, `alerts`).
fn segments(text: &str) -> Vec<String> {
    text.split("::")
        .map(|s| {
            s.chars()
                .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                .collect::<String>()
        })
        .take_while(|s| !s.is_empty())
        .collect()
}

#[test]
fn no_module_imports_another_that_imports_it_back() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    // The crate root names every module; test modules may reach anywhere.
    files.retain(|f| !["lib.rs", "main.rs", "tests.rs"].iter().any(|n| f.ends_with(n)));
    let modules: BTreeSet<String> = files
        .iter()
        .map(|f| module_of(f, &src).iter().take(2).cloned().collect::<Vec<_>>().join("::"))
        .collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    // A module depends on its children (it declares and re-exports them); a child's `super::`
    // back to its parent is structure, not a circle, and is not counted below.
    for child in modules.iter().filter(|m| m.contains("::")) {
        let parent = child.split("::").next().unwrap_or_default().to_owned();
        edges.entry(parent).or_default().insert(child.clone());
    }
    for file in &files {
        let module = module_of(file, &src);
        let code = std::fs::read_to_string(file).unwrap();
        let from = node(&module, &modules);
        for target in references(&code, &module) {
            let to = node(&target, &modules);
            // A parent and its children are one node; `crate::x` alone names a node too.
            if !to.is_empty() && to != from && !from.starts_with(&format!("{to}::")) {
                edges.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    // Depth-first search for a back edge; report the circle it closes.
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut circle = stack[at..].to_vec();
            circle.push(node.to_owned());
            return Some(circle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_owned());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(circle) = visit(next, edges, stack, done) {
                return Some(circle);
            }
        }
        stack.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    for start in edges.keys() {
        let circle = visit(start, &edges, &mut Vec::new(), &mut done);
        assert!(circle.is_none(), "imports run in a circle: {}", circle.unwrap().join(" → "));
    }
    assert!(edges.len() > 20, "the source was read: {edges:?}");
}
