//! The layering check: a module imports only modules of lower layers (see
//! `docs/ARCHITECTURE.md`), diesel stays inside `db`, and the web framework
//! stays in the HTTP layers. It reads the source as text: every `crate::name`
//! path outside comments counts, in `use` lines or inline.

use std::collections::BTreeSet;
use std::path::Path;

/// Top-level modules from the top of the house down. A module may import
/// itself and those with a lower rank; never one with the same or a higher
/// rank.
const LAYERS: &[(&str, u8)] = &[
    ("cli", 12),
    ("startup", 11),
    ("routes", 10),
    ("telemetry", 9),
    ("state", 8),
    ("ledger", 7),
    ("delivery", 7),
    ("auth", 6),
    ("error", 5),
    ("db", 4),
    ("cache", 3),
    ("demo", 3),
    ("analytics", 2),
    ("billing", 1),
    ("export", 1),
    ("config", 1),
    ("metrics", 1),
    ("domain", 0),
];

/// Imports the ranks allow but the design does not: the CLI works through the
/// ledger service, never through a route module.
const FORBIDDEN: &[(&str, &str)] = &[("cli", "routes")];

/// Where the web framework may be named: the HTTP layers and the error type
/// that renders problem+json.
const ACTIX_ALLOWED: &[&str] = &["cli", "startup", "routes", "telemetry", "auth", "error"];

fn rank(module: &str) -> Option<u8> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, r)| *r)
}

/// The code of a file with comments left out (line comments, and block
/// comments on their own lines, which is how this code base writes them).
fn code_lines(source: &str) -> impl Iterator<Item = (usize, &str)> {
    source.lines().enumerate().filter_map(|(i, line)| {
        let t = line.trim_start();
        if t.starts_with("//") || t.starts_with("/*") || t.starts_with('*') {
            return None;
        }
        // A trailing comment: cut at `//` unless it is inside a string (a URL).
        let code = match line.find(" //") {
            Some(at) if line[..at].matches('"').count() % 2 == 0 => &line[..at],
            _ => line,
        };
        Some((i + 1, code))
    })
}

/// The top-level modules a piece of code names as `crate::name` or inside
/// `crate::{name, other::thing}`.
fn crate_paths(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        // `pilotledger_crate::x` or `some_crate::x` is not a path into this crate.
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0usize;
            let mut name = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        push_name(&mut found, &name);
                        name.clear();
                    }
                    _ if depth == 0 => name.push(c),
                    _ => {}
                }
            }
            push_name(&mut found, &name);
        } else {
            push_name(&mut found, rest);
        }
    }
    found
}

fn push_name(found: &mut BTreeSet<String>, path: &str) {
    let name: String = path
        .trim_start()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    if !name.is_empty() {
        found.insert(name);
    }
}

/// Every broken rule in one file of module `module`, as readable lines.
fn violations_in(file: &str, module: &str, source: &str) -> Vec<String> {
    let mut out = Vec::new();
    let Some(own) = rank(module) else {
        return vec![format!(
            "{file}: module `{module}` has no layer; add it to LAYERS and docs/ARCHITECTURE.md"
        )];
    };
    for (line, code) in code_lines(source) {
        for target in crate_paths(code) {
            if target == module {
                continue;
            }
            if FORBIDDEN.contains(&(module, target.as_str())) {
                out.push(format!(
                    "{file}:{line}: `{module}` imports `{target}`; call the ledger service instead"
                ));
                continue;
            }
            match rank(&target) {
                Some(r) if r < own => {}
                Some(_) => out.push(format!(
                    "{file}:{line}: `{module}` imports `{target}`, a layer that is not below it"
                )),
                None => out.push(format!(
                    "{file}:{line}: `crate::{target}` is no module of a known layer"
                )),
            }
        }
        if module != "db" && code.contains("diesel") {
            out.push(format!("{file}:{line}: diesel outside db"));
        }
        if !ACTIX_ALLOWED.contains(&module) && (code.contains("actix_web") || code.contains("actix_http")) {
            out.push(format!("{file}:{line}: the web framework in `{module}`"));
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_module_imports_a_layer_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut broken = Vec::new();
    for path in &files {
        let relative = path.strip_prefix(&src).expect("under src");
        let first = relative
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .unwrap_or("");
        let module = first.trim_end_matches(".rs").trim_end_matches("_tests");
        // The crate root and the binary only list and start modules; this
        // file names every layer on purpose.
        if matches!(module, "lib" | "main" | "layers") {
            continue;
        }
        let source = std::fs::read_to_string(path).expect("a source file");
        broken.extend(violations_in(&relative.display().to_string(), module, &source));
    }
    assert!(files.len() > 50, "found only {} source files", files.len());
    assert!(broken.is_empty(), "layering broken:\n{}", broken.join("\n"));
}

#[test]
fn the_check_names_an_import_from_a_lower_layer_to_a_higher_one() {
    let upward = "use crate::db::DbConnection;\nuse crate::routes::AppState;\n";
    let found = violations_in("db/x.rs", "db", upward);
    assert_eq!(
        found,
        ["db/x.rs:2: `db` imports `routes`, a layer that is not below it"]
    );
    // Grouped paths and inline paths count too; comments do not.
    let grouped = "use crate::{domain::ids::OrgId, auth::Role};\n// crate::routes in a comment\nlet s = crate::state::AppState::new(); // crate::cli\n";
    let found = violations_in("db/y.rs", "db", grouped);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found[0].contains("imports `auth`") && found[1].contains("imports `state`"),
        "{found:?}"
    );
    // The CLI calls the service, never a route module.
    assert_eq!(
        violations_in("cli.rs", "cli", "use crate::routes::import::apply;"),
        ["cli.rs:1: `cli` imports `routes`; call the ledger service instead"]
    );
    // Peers of one rank may not import each other either.
    assert_eq!(violations_in("demo.rs", "demo", "use crate::cache::X;").len(), 1);
}

#[test]
fn diesel_and_the_web_framework_stay_in_their_layers() {
    assert_eq!(
        violations_in("error.rs", "error", "use diesel::result::Error;"),
        ["error.rs:1: diesel outside db"]
    );
    assert_eq!(
        violations_in("db/x.rs", "db", "let r = actix_web::web::block(f);"),
        ["db/x.rs:1: the web framework in `db`"]
    );
    assert!(violations_in("db/x.rs", "db", "use diesel::prelude::*;").is_empty());
}
