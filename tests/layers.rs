//! The layering of `src/`: every top-level module belongs to one layer of [`LAYERS`] and uses
//! (`crate::x` in the library, `dcinv::x` in the binary) only modules of lower layers, so no
//! import cycle can come back. Test code (`#[cfg(test)]` items and files) is not counted.
//! A new top-level module must be placed in a layer here (and in ARCHITECTURE.md).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Lowest first. A module may use the modules of the layers below its own, never its own
/// layer's or a higher one's.
const LAYERS: &[(&str, &[&str])] = &[
    ("helpers", &["common", "error"]),
    ("model and formats", &["model", "osm"]),
    ("catalog and boundaries", &["catalog", "geo"]),
    ("fetch, parse, match", &["fetch", "adapters", "reconcile"]),
    ("facts attached to what they describe", &["facts"]),
    ("parse cache, estimates", &["parse_cache", "estimate"]),
    ("surfaces", &["cadastre"]),
    ("results", &["inventory"]),
    ("table definitions and the GeoPackage", &["store"]),
    ("writers", &["export", "summary"]),
    ("inventory readers", &["changes"]),
    ("orchestration", &["pipeline"]),
    ("binary", &["cli", "main"]),
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, mods)| mods.contains(&module))
}

/// `text` without the items that follow a `#[cfg(test)]` (a `mod x;` line or a `{ }` block).
fn without_tests(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        let Some(end) = after.find([';', '{']) else {
            return out;
        };
        if after.as_bytes()[end] == b';' {
            rest = &after[end + 1..];
            continue;
        }
        let mut depth = 0usize;
        let mut close = after.len();
        for (i, c) in after[end..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        close = end + i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &after[close..];
    }
    out.push_str(rest);
    out
}

/// Line comments removed (doc comments name modules without using them).
fn without_comments(text: &str) -> String {
    text.lines()
        .map(|l| l.split_once("//").map_or(l, |(code, _)| code))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level modules named after `prefix::` (paths and `use prefix::{a, b::c}` groups).
fn used_modules(code: &str, prefix: &str) -> BTreeSet<String> {
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut used = BTreeSet::new();
    let pat = format!("{prefix}::");
    for (at, _) in code.match_indices(&pat) {
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let rest = &code[at + pat.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1usize;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    _ => {}
                }
                if depth == 0 || (c == ',' && depth == 1) {
                    used.insert(ident(&item));
                    item.clear();
                    if depth == 0 {
                        break;
                    }
                } else {
                    item.push(c);
                }
            }
        } else {
            used.insert(ident(rest));
        }
    }
    used.retain(|m| !m.is_empty() && m != "self");
    used
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Files declared `#[cfg(test)] mod x;` (test-only modules).
fn test_only_files(files: &[PathBuf]) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    for path in files {
        let text = std::fs::read_to_string(path).unwrap();
        let name = path.file_stem().unwrap().to_str().unwrap();
        let dir = if ["mod", "lib", "main"].contains(&name) {
            path.parent().unwrap().to_path_buf()
        } else {
            path.with_extension("")
        };
        let mut rest = text.as_str();
        while let Some(at) = rest.find("#[cfg(test)]") {
            rest = &rest[at + "#[cfg(test)]".len()..];
            let decl = rest.trim_start();
            let decl = decl
                .strip_prefix("pub(crate) ")
                .or_else(|| decl.strip_prefix("pub "))
                .unwrap_or(decl);
            if let Some(m) = decl.strip_prefix("mod ") {
                let (m, tail) = m.split_at(m.find([';', '{', ' ']).unwrap_or(m.len()));
                if tail.trim_start().starts_with(';') {
                    out.insert(dir.join(format!("{m}.rs")));
                    out.insert(dir.join(m).join("mod.rs"));
                }
            }
        }
    }
    out
}

/// Top-level module → the top-level modules it uses (test code excluded).
fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let tests = test_only_files(&files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for path in files.iter().filter(|p| !tests.contains(*p)) {
        let rel = path.strip_prefix(&src).unwrap();
        let top = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_str()
            .unwrap();
        let top = top.trim_end_matches(".rs").to_string();
        if top == "lib" {
            continue;
        }
        let prefix = if top == "cli" || top == "main" {
            "dcinv"
        } else {
            "crate"
        };
        let code = without_comments(&without_tests(&std::fs::read_to_string(path).unwrap()));
        let mut used = used_modules(&code, prefix);
        used.remove(&top);
        graph.entry(top).or_default().extend(used);
    }
    graph
}

#[test]
fn every_module_uses_only_lower_layers() {
    let graph = module_graph();
    let mut problems = Vec::new();
    for (module, used) in &graph {
        let Some(own) = layer_of(module) else {
            problems.push(format!("`{module}` is in no layer of tests/layers.rs"));
            continue;
        };
        for u in used {
            match layer_of(u) {
                Some(l) if l < own => {}
                Some(l) => problems.push(format!(
                    "`{module}` ({}) uses `{u}` ({}), not a lower layer",
                    LAYERS[own].0, LAYERS[l].0
                )),
                None => problems.push(format!("`{module}` uses `{u}`, in no layer")),
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_graph_reader_sees_uses_and_skips_tests() {
    let code = "use crate::{alpha::A, beta::{b, c}, gamma};\nfn f() { crate::delta::x(); }\n\
                #[cfg(test)]\nmod tests { use crate::epsilon; }\n// crate::zeta\n";
    let used = used_modules(&without_comments(&without_tests(code)), "crate");
    let want: BTreeSet<String> = ["alpha", "beta", "gamma", "delta"].map(String::from).into();
    assert_eq!(used, want);
    // The real graph is read: the pipeline uses the stages, and nothing uses the binary.
    let graph = module_graph();
    assert!(graph["pipeline"].contains("reconcile"), "{graph:?}");
    assert!(graph.values().all(|u| !u.contains("cli")));
}
