//! The layering ARCHITECTURE.md states, kept by a check over `crate::` paths in the
//! sources: the proxy's modules import only from layers below their own, and neither the
//! proxy nor the emulator has an import circle between its files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The proxy's layers, bottom first. A module may import from lower layers only.
const LAYERS: &[&[&str]] = &[
    &["error"],
    &["config", "ir"],
    &["telemetry", "state", "logging", "healthcheck", "demo"],
    &["upstream", "traffic"],
    &["app"],
    &["dialect"],
    &["server"],
    &["lib", "main"],
];

fn rank(module: &str) -> usize {
    LAYERS
        .iter()
        .position(|l| l.contains(&module))
        .unwrap_or_else(|| panic!("module `{module}` is not in LAYERS: give it a layer"))
}

/// Every `.rs` file under `dir`, with its text minus `#[cfg(test)] mod tests { … }`
/// (tests may reach anywhere).
fn sources(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&p).unwrap();
                let code = match text.find("#[cfg(test)]\nmod tests") {
                    Some(i) => text[..i].to_string(),
                    None => text,
                };
                out.insert(p.strip_prefix(dir).unwrap().to_path_buf(), code);
            }
        }
    }
    out
}

/// `crate::a::b::…` paths in `code` (comments and doc links included: a doc link is a
/// dependency of the reader too).
fn crate_paths(code: &str) -> Vec<Vec<String>> {
    let re = regex::Regex::new(r"crate::((?:[a-z_][a-z0-9_]*::)*[A-Za-z_][A-Za-z0-9_]*)").unwrap();
    let mut out: Vec<Vec<String>> = re
        .captures_iter(code)
        .map(|c| c[1].split("::").map(str::to_string).collect())
        .collect();
    // `use crate::{a, b::c}` groups.
    let group = regex::Regex::new(r"use crate::\{([^}]*)\}").unwrap();
    for g in group.captures_iter(code) {
        for item in g[1].split(',') {
            let item = item.trim();
            if !item.is_empty() {
                out.push(item.split("::").map(|s| s.trim().to_string()).collect());
            }
        }
    }
    out
}

/// The source file a `crate::` path lands in (the deepest existing module file).
fn file_of(files: &BTreeMap<PathBuf, String>, path: &[String]) -> Option<PathBuf> {
    for n in (1..=path.len()).rev() {
        let base: PathBuf = path[..n].iter().collect();
        for candidate in [base.with_extension("rs"), base.join("mod.rs")] {
            if files.contains_key(&candidate) {
                return Some(candidate);
            }
        }
    }
    None
}

fn top_module(file: &Path) -> String {
    let first = file
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// File-level import edges of a crate.
fn edges(files: &BTreeMap<PathBuf, String>) -> BTreeMap<PathBuf, BTreeSet<PathBuf>> {
    let mut out: BTreeMap<PathBuf, BTreeSet<PathBuf>> = BTreeMap::new();
    for (file, code) in files {
        let targets = out.entry(file.clone()).or_default();
        for path in crate_paths(code) {
            if let Some(t) = file_of(files, &path)
                && &t != file
                && t != Path::new("lib.rs")
            {
                targets.insert(t);
            }
        }
    }
    out
}

/// One import circle, if there is any.
fn circle(graph: &BTreeMap<PathBuf, BTreeSet<PathBuf>>) -> Option<Vec<PathBuf>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        n: &PathBuf,
        g: &BTreeMap<PathBuf, BTreeSet<PathBuf>>,
        marks: &mut BTreeMap<PathBuf, Mark>,
        stack: &mut Vec<PathBuf>,
    ) -> Option<Vec<PathBuf>> {
        match marks.get(n) {
            Some(Mark::Done) => return None,
            Some(Mark::Open) => {
                let start = stack.iter().position(|x| x == n).unwrap();
                return Some(stack[start..].to_vec());
            }
            None => {}
        }
        marks.insert(n.clone(), Mark::Open);
        stack.push(n.clone());
        for m in g.get(n).into_iter().flatten() {
            if let Some(c) = visit(m, g, marks, stack) {
                return Some(c);
            }
        }
        stack.pop();
        marks.insert(n.clone(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for n in graph.keys() {
        if let Some(c) = visit(n, graph, &mut marks, &mut Vec::new()) {
            return Some(c);
        }
    }
    None
}

fn src(krate: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(krate)
        .join("src")
}

#[test]
fn the_proxy_imports_only_downward() {
    let files = sources(&src("gpt2giga"));
    assert!(files.len() > 30, "sources not found");
    let mut upward = Vec::new();
    for (file, code) in &files {
        let from = top_module(file);
        for path in crate_paths(code) {
            let to = &path[0];
            if *to == from || !files.keys().any(|f| top_module(f) == *to) {
                continue;
            }
            if rank(to) >= rank(&from) {
                upward.push(format!("{} -> crate::{}", file.display(), path.join("::")));
            }
        }
    }
    upward.sort();
    upward.dedup();
    assert!(
        upward.is_empty(),
        "imports that do not run downward (layers: {LAYERS:?}):\n{}",
        upward.join("\n")
    );
}

#[test]
fn no_import_circles_in_the_proxy_or_the_emulator() {
    for krate in ["gpt2giga", "gigachat-mock"] {
        let files = sources(&src(krate));
        let graph = edges(&files);
        if let Some(c) = circle(&graph) {
            panic!(
                "import circle in {krate}: {}",
                c.iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(" -> ")
            );
        }
    }
}

#[test]
fn the_checker_sees_circles_and_upward_imports() {
    let mut files = BTreeMap::new();
    files.insert(PathBuf::from("a.rs"), "use crate::b::X;".to_string());
    files.insert(PathBuf::from("b/mod.rs"), "use crate::{c::Y};".to_string());
    files.insert(
        PathBuf::from("c.rs"),
        "fn f() { crate::a::g(); }".to_string(),
    );
    let c = circle(&edges(&files)).expect("a circle");
    assert_eq!(c.len(), 3);
    files.insert(PathBuf::from("c.rs"), String::new());
    assert!(circle(&edges(&files)).is_none());
    assert!(rank("server") > rank("upstream"));
}
