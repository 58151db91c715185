//! The layering ARCHITECTURE.md describes, checked on the source: no two
//! top-level modules of pushd import each other (directly or round a
//! loop), and nothing below the wiring imports `config`, `server`,
//! `services` or a front. Test code (conformance suites, `#[cfg(test)]`
//! blocks) and comments are not imports.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The wiring and the fronts: what no service or lower layer may import.
const UPPER: &[&str] = &["config", "server", "services", "api", "http", "websocket"];

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
}

/// Top-level module → the other top-level modules its code names.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let module_of = |path: &Path| {
        let relative = path.strip_prefix(&src).expect("under src");
        let first = relative.components().next().expect("a component");
        let name = first.as_os_str().to_string_lossy();
        name.trim_end_matches(".rs").to_owned()
    };
    let modules: BTreeSet<String> = files.iter().map(|path| module_of(path)).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for path in &files {
        let name = path.to_string_lossy();
        if name.contains("conformance") || name.ends_with("tests.rs") {
            continue;
        }
        let module = module_of(path);
        if module == "lib" || module == "main" {
            continue;
        }
        let text = std::fs::read_to_string(path).expect("read");
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for line in code
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
        {
            for (at, _) in line.match_indices("crate::") {
                let named: String = line[at + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                if named != module && modules.contains(&named) {
                    graph.entry(module.clone()).or_default().insert(named);
                }
            }
        }
    }
    graph
}

/// A module reached again from itself, as the path that does it.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        module: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|seen| seen == module) {
            let mut cycle = path[at..].to_vec();
            cycle.push(module.to_owned());
            return Some(cycle);
        }
        if done.contains(module) {
            return None;
        }
        path.push(module.to_owned());
        for next in graph.get(module).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(module.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|module| visit(module, graph, &mut Vec::new(), &mut done))
}

#[test]
fn no_module_imports_another_that_imports_it_back() {
    let graph = imports();
    assert!(
        graph.len() > 10,
        "the scan found too few modules: {graph:?}"
    );
    if let Some(cycle) = find_cycle(&graph) {
        panic!("module cycle: {}", cycle.join(" -> "));
    }
}

#[test]
fn services_and_lower_layers_never_import_the_wiring_or_a_front() {
    let graph = imports();
    let mut offences = Vec::new();
    for (module, named) in &graph {
        if UPPER.contains(&module.as_str()) {
            continue;
        }
        for upper in named.iter().filter(|named| UPPER.contains(&named.as_str())) {
            offences.push(format!("{module} imports {upper}"));
        }
    }
    assert!(offences.is_empty(), "{}", offences.join("\n"));
}

#[test]
fn the_scan_sees_a_cycle_when_there_is_one() {
    let mut graph = imports();
    graph
        .entry("store".into())
        .or_default()
        .insert("delivery".into());
    graph
        .entry("delivery".into())
        .or_default()
        .insert("store".into());
    assert!(find_cycle(&graph).is_some());
}
