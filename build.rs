//! Compiles the explanation pages (`docs/reasons/<browser>/<Name>.md`) into the binary: writes
//! `$OUT_DIR/reason_pages.rs`, one `include_str!` per page, sorted, so the registry
//! (`src/cors/registry.rs`) can list and parse them without touching the file system.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    // Read when the script runs, not baked in when it was compiled: a target directory
    // copied to another checkout must not go on reading the first one's pages.
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest).join("docs/reasons");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut pages = Vec::new();
    let dirs = std::fs::read_dir(&root).unwrap_or_else(|e| panic!("{}: {e}", root.display()));
    for dir in dirs {
        let dir = dir.expect("readable docs/reasons entry").path();
        if !dir.is_dir() {
            continue;
        }
        println!("cargo:rerun-if-changed={}", dir.display());
        let browser = dir
            .file_name()
            .and_then(|n| n.to_str())
            .expect("browser directory names are ASCII")
            .to_owned();
        for file in std::fs::read_dir(&dir).expect("readable browser directory") {
            let path = file.expect("readable page entry").path();
            if path.extension().and_then(|e| e.to_str()) != Some("md") {
                continue;
            }
            let name = path
                .file_stem()
                .and_then(|n| n.to_str())
                .expect("page names are ASCII")
                .to_owned();
            pages.push((browser.clone(), name, path));
        }
    }
    pages.sort();
    let mut out = String::from("pub static PAGES: &[(&str, &str, &str)] = &[\n");
    for (browser, name, path) in &pages {
        writeln!(
            out,
            "    ({browser:?}, {name:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .expect("writing to a String cannot fail");
    }
    out.push_str("];\n");
    let dest =
        Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("reason_pages.rs");
    std::fs::write(&dest, out).unwrap_or_else(|e| panic!("{}: {e}", dest.display()));
}
