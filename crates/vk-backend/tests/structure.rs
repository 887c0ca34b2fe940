//! The crate's module graph: layered, with no cycles, and the lower layers (loading the
//! driver, opening the device) never reach up to the context built on them. Read from the
//! sources, so a new `use` that closes a loop fails here rather than in review.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module -> the modules its non-test code refers to (`crate::module::...`, or a name
/// re-exported at the crate root, resolved through lib.rs's `pub use module::{...}`).
fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let read = |name: &str| std::fs::read_to_string(src.join(name)).unwrap();
    let lib = read("lib.rs");
    let mut modules = BTreeSet::new();
    let mut exported = BTreeMap::new();
    for line in lib.lines().map(str::trim) {
        if let Some(m) = line
            .strip_prefix("mod ")
            .or_else(|| line.strip_prefix("pub mod "))
        {
            modules.insert(m.trim_end_matches(';').to_owned());
        }
    }
    // `pub use module::{A, B};` possibly over several lines.
    for stmt in lib.split(';') {
        let stmt = stmt.split_whitespace().collect::<Vec<_>>().join(" ");
        let Some(rest) = stmt
            .rsplit("pub use ")
            .next()
            .filter(|_| stmt.contains("pub use "))
        else {
            continue;
        };
        let Some((module, names)) = rest.split_once("::") else {
            continue;
        };
        for name in names.trim_matches(|c| c == '{' || c == '}').split(',') {
            exported.insert(name.trim().to_owned(), module.to_owned());
        }
    }
    let mut graph = BTreeMap::new();
    for module in &modules {
        let text = read(&format!("{module}.rs"));
        // Unit tests sit in a `#[cfg(test)] mod tests` at the end of a file.
        // Doc links (`[x](crate::y)`) are not dependencies: comments are left out.
        let code: String = text
            .split("#[cfg(test)]\nmod tests")
            .next()
            .unwrap_or(&text)
            .lines()
            .map(|l| l.split("//").next().unwrap_or(""))
            .collect::<Vec<_>>()
            .join("\n");
        let mut deps = BTreeSet::new();
        let mut rest = code.as_str();
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            // `crate::{a::X, Y}` or `crate::a::X` or `crate::X`.
            let items: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
                group.split('}').next().unwrap_or("").split(',').collect()
            } else {
                vec![rest]
            };
            for item in items {
                let head: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                let target = if modules.contains(&head) {
                    Some(head)
                } else {
                    exported.get(&head).cloned()
                };
                if let Some(t) = target.filter(|t| t != module) {
                    deps.insert(t);
                }
            }
        }
        graph.insert(module.clone(), deps);
    }
    graph
}

#[test]
fn modules_form_no_cycles() {
    let graph = module_graph();
    assert!(graph.len() > 10, "too few modules found: {graph:?}");
    // Depth-first search; a module met again while on the stack closes a cycle.
    fn visit(
        m: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) {
        if done.contains(m) {
            return;
        }
        if let Some(at) = stack.iter().position(|s| s == m) {
            panic!("module cycle: {} -> {m}", stack[at..].join(" -> "));
        }
        stack.push(m.to_owned());
        for d in &graph[m] {
            visit(d, graph, stack, done);
        }
        stack.pop();
        done.insert(m.to_owned());
    }
    let mut done = BTreeSet::new();
    for m in graph.keys() {
        visit(m, &graph, &mut Vec::new(), &mut done);
    }
}

#[test]
fn the_driver_and_device_layers_never_import_the_context() {
    let graph = module_graph();
    for low in ["error", "config", "instance", "device"] {
        let deps = &graph[low];
        assert!(!deps.contains("context"), "{low} imports context: {deps:?}");
    }
}
