//! No import cycles between the files of `src/`: every `crate::` and
//! `super::` path of each file is resolved to the file it names, and the
//! graph of those references must have no cycle (a strongly connected
//! component of more than one file). A child module's `super::` reference
//! to its parent is a reference like any other; a parent's `mod child;`
//! declaration is not (it is where the child lives, not a use of it).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`.
fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a file: `src/gateway/streams/mod.rs` is
/// `["gateway", "streams"]`, `src/lib.rs` is `[]`.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src).expect("under src");
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().expect("a file name");
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" && stem != "main" {
        parts.push(stem.to_string());
    }
    parts
}

/// The paths a file names, as written: `crate::a::b`, `super::c`.
fn paths_in(text: &str) -> Vec<(bool, Vec<String>)> {
    let mut found = Vec::new();
    let bytes = text.as_bytes();
    for start in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(at) = text[from..].find(start) {
            let begin = from + at;
            from = begin + start.len();
            // Part of a longer identifier (`my_crate::`) or the middle of a
            // path already read (`super::super::`) is not a new path.
            let before = &bytes[..begin];
            if before
                .last()
                .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
                || before.ends_with(b"::")
            {
                continue;
            }
            let mut segments = Vec::new();
            let mut rest = &text[begin..];
            let mut supers = 0;
            while let Some(after) = rest.strip_prefix("super::") {
                supers += 1;
                rest = after;
            }
            if supers == 0 {
                rest = &rest["crate::".len()..];
            }
            loop {
                let end = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                if end == 0 {
                    break;
                }
                segments.push(rest[..end].to_string());
                match rest[end..].strip_prefix("::") {
                    Some(after) => rest = after,
                    None => break,
                }
            }
            let mut path = vec![String::new(); supers];
            path.extend(segments);
            found.push((supers == 0, path));
        }
    }
    found
}

#[test]
fn no_file_imports_a_file_that_imports_it_back() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    files(&src, &mut all);
    // `src/main.rs` is the root of the binary, a crate of its own; its
    // modules (`src/cli`) have names no library module has.
    all.retain(|f| !f.ends_with("main.rs"));
    let modules: BTreeMap<Vec<String>, PathBuf> = all
        .iter()
        .map(|f| (module_of(&src, f), f.clone()))
        .collect();
    let mut edges: BTreeMap<PathBuf, BTreeSet<PathBuf>> = BTreeMap::new();
    for file in &all {
        let here = module_of(&src, file);
        let text = std::fs::read_to_string(file).expect("read");
        for (absolute, path) in paths_in(&text) {
            let mut target: Vec<String> = if absolute {
                Vec::new()
            } else {
                // `super::` from `a/b.rs` and from `a/b/mod.rs` (both the
                // module a::b) is `a`: one `pop` per `super`.
                here.clone()
            };
            for segment in path {
                if segment.is_empty() {
                    target.pop();
                } else {
                    target.push(segment);
                }
            }
            // The longest prefix that is a file of the tree.
            while !target.is_empty() && !modules.contains_key(&target) {
                target.pop();
            }
            if let Some(to) = modules.get(&target)
                && to != file
            {
                edges.entry(file.clone()).or_default().insert(to.clone());
            }
        }
    }
    // Tarjan's strongly connected components.
    let nodes: Vec<PathBuf> = all.clone();
    let index_of: BTreeMap<&PathBuf, usize> =
        nodes.iter().enumerate().map(|(i, n)| (n, i)).collect();
    let adjacency: Vec<Vec<usize>> = nodes
        .iter()
        .map(|n| {
            edges
                .get(n)
                .map(|set| {
                    set.iter()
                        .filter_map(|t| index_of.get(t).copied())
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect();
    let mut cycles = Vec::new();
    let mut index = vec![usize::MAX; nodes.len()];
    let mut low = vec![0; nodes.len()];
    let mut on_stack = vec![false; nodes.len()];
    let mut stack = Vec::new();
    let mut counter = 0;
    fn visit(
        v: usize,
        adjacency: &[Vec<usize>],
        state: (
            &mut Vec<usize>,
            &mut Vec<usize>,
            &mut Vec<bool>,
            &mut Vec<usize>,
            &mut usize,
        ),
        cycles: &mut Vec<Vec<usize>>,
    ) {
        let (index, low, on_stack, stack, counter) = state;
        index[v] = *counter;
        low[v] = *counter;
        *counter += 1;
        stack.push(v);
        on_stack[v] = true;
        for &w in &adjacency[v] {
            if index[w] == usize::MAX {
                visit(w, adjacency, (index, low, on_stack, stack, counter), cycles);
                low[v] = low[v].min(low[w]);
            } else if on_stack[w] {
                low[v] = low[v].min(index[w]);
            }
        }
        if low[v] == index[v] {
            let mut component = Vec::new();
            while let Some(w) = stack.pop() {
                on_stack[w] = false;
                component.push(w);
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                cycles.push(component);
            }
        }
    }
    for v in 0..nodes.len() {
        if index[v] == usize::MAX {
            visit(
                v,
                &adjacency,
                (
                    &mut index,
                    &mut low,
                    &mut on_stack,
                    &mut stack,
                    &mut counter,
                ),
                &mut cycles,
            );
        }
    }
    let described: Vec<Vec<String>> = cycles
        .iter()
        .map(|c| {
            c.iter()
                .map(|&i| {
                    nodes[i]
                        .strip_prefix(&src)
                        .expect("src")
                        .display()
                        .to_string()
                })
                .collect()
        })
        .collect();
    assert!(
        described.is_empty(),
        "import cycles between files: {described:?}"
    );
    // The check reads what it should: the gateway's files reference each
    // other a lot, and none of those references is lost.
    let gateway_edges = edges
        .iter()
        .filter(|(from, _)| from.starts_with(src.join("gateway")))
        .map(|(_, to)| to.len())
        .sum::<usize>();
    assert!(
        gateway_edges > 40,
        "only {gateway_edges} references read in gateway/"
    );
}

#[test]
fn the_reader_resolves_paths_as_rust_does() {
    let found = paths_in("use crate::a::b::{C, d}; fn f() { super::super::x::y(); my_crate::z; }");
    assert_eq!(
        found,
        vec![
            (true, vec!["a".into(), "b".into()]),
            (false, vec!["".into(), "".into(), "x".into(), "y".into()]),
        ]
    );
}
