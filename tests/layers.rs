//! The module graph follows the data path (ARCHITECTURE.md): each top-level module of `src/`
//! uses only modules of lower layers, so there is no cycle. Test-only code (`#[cfg(test)]`
//! items) may reach anywhere.

use std::collections::BTreeSet;
use std::path::Path;

/// Bottom to top. A module may name (`crate::x`) only modules of a lower layer.
const LAYERS: &[&[&str]] = &[
    // Foundation: identities and data every stage shares.
    &["browser", "diag", "fnv", "model", "origin", "slab"],
    // Which engine or tool sent a request (read by the readers and the engine).
    &["fingerprint"],
    // Readers: bytes to exchanges. `input` opens and maps the files (and reads a HAR);
    // `capture` reads the packets of what it opened.
    &["input"],
    &["capture"],
    // Exchanges to flows.
    &["pairing"],
    // Flows to verdicts.
    &["cors"],
    // Verdicts to findings, records and their sinks.
    &["audit"],
    &["report"],
    // Running it: the per-input pipeline, sharding, generators, the table, merging.
    &["pipeline", "split", "synth", "term", "merge"],
    &["limits"],
    // Entry points.
    &["analysis", "cli"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

/// The source with every `#[cfg(test)]` item removed (brace-matched; string literals and line
/// comments are skipped so their braces do not count).
fn without_test_items(src: &str) -> String {
    let lines: Vec<&str> = src.lines().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim() != "#[cfg(test)]" {
            out.push_str(lines[i]);
            out.push('\n');
            i += 1;
            continue;
        }
        let (mut depth, mut started) = (0i64, false);
        let mut j = i + 1;
        while j < lines.len() {
            let code = code_of(lines[j]);
            for c in code.chars() {
                match c {
                    '{' => {
                        depth += 1;
                        started = true;
                    }
                    '}' => depth -= 1,
                    _ => {}
                }
            }
            if (started && depth <= 0) || (!started && code.trim_end().ends_with(';')) {
                break;
            }
            j += 1;
        }
        i = j + 1;
    }
    out
}

/// A line without its string literals and its `//` comment.
fn code_of(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    let mut in_str = false;
    while let Some(c) = chars.next() {
        match (in_str, c) {
            (true, '\\') => {
                chars.next();
            }
            (true, '"') => in_str = false,
            (true, _) => {}
            (false, '"') => in_str = true,
            (false, '/') if chars.peek() == Some(&'/') => break,
            (false, '\'') => {
                // A char literal such as '{' (a lifetime has no closing quote two chars on).
                let rest: String = chars.clone().take(3).collect();
                if rest.chars().nth(1) == Some('\'') {
                    chars.next();
                    chars.next();
                } else if rest.starts_with('\\') {
                    for d in chars.by_ref() {
                        if d == '\'' {
                            break;
                        }
                    }
                } else {
                    out.push(c);
                }
            }
            (false, _) => out.push(c),
        }
    }
    out
}

/// The top-level modules a source names through `crate::`.
fn uses(src: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let code: String = src.lines().map(|l| code_of(l) + "\n").collect();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            found.insert(name);
        }
    }
    found
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).expect("src/ is readable") {
        let p = e.expect("directory entry").path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn modules_use_only_lower_layers() {
    let src = Path::new("src");
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut broken = Vec::new();
    let mut seen = BTreeSet::new();
    for f in &files {
        let rel = f.strip_prefix(src).expect("under src");
        let top = rel
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .map(|s| s.trim_end_matches(".rs").to_owned())
            .expect("a file name");
        if top == "lib" || top == "main" {
            continue;
        }
        let Some(own) = layer_of(&top) else {
            broken.push(format!("{}: module `{top}` is in no layer", f.display()));
            continue;
        };
        seen.insert(top.clone());
        let text = std::fs::read_to_string(f).expect("readable source");
        for dep in uses(&without_test_items(&text)) {
            if dep == top {
                continue;
            }
            match layer_of(&dep) {
                Some(l) if l < own => {}
                Some(_) => broken.push(format!("{}: `{top}` uses `{dep}`", f.display())),
                None => broken.push(format!("{}: uses unknown module `{dep}`", f.display())),
            }
        }
    }
    assert!(broken.is_empty(), "layering broken:\n{}", broken.join("\n"));
    // Every layered module exists, so the table cannot rot.
    for m in LAYERS.iter().flat_map(|l| l.iter()) {
        assert!(seen.contains(*m), "LAYERS names `{m}`, which has no file");
    }
}

#[test]
fn the_scanner_skips_test_items_and_literals() {
    let src = r#"
use crate::model::Exchange;
#[cfg(test)]
fn helper() { let _ = crate::cli::main; }
#[cfg(test)]
use crate::pipeline::Options;
fn f() { let s = "crate::report {"; let c = '{'; crate::origin::origin_of(s); }
"#;
    let used = uses(&without_test_items(src));
    let want: BTreeSet<String> = ["model", "origin"].map(String::from).into();
    assert_eq!(used, want);
}
