//! The repository must build, demo and test from a clone with nothing beside it. This finds
//! every relative path written in a tracked source file (a string starting with `../` or
//! `/../`) and fails if it resolves outside the repository, from the file's folder and from
//! its crate's folder alike (`#[path]` and `include_str!` resolve from the first,
//! `concat!(env!("CARGO_MANIFEST_DIR"), ...)` and Cargo's `path` keys from the second).

use std::path::{Component, Path, PathBuf};
use std::process::Command;

/// File endings that can name a path the build or the tests follow.
const SOURCES: [&str; 4] = [".rs", ".toml", ".sh", "/run"];

pub fn check() -> Result<(), String> {
    let root = repository_root()?;
    let listed = Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(&root)
        .output()
        .map_err(|e| format!("git ls-files: {e}"))?;
    let mut escapes = Vec::new();
    for file in String::from_utf8_lossy(&listed.stdout).split('\0') {
        if !SOURCES.iter().any(|ending| file.ends_with(ending)) {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(root.join(file)) else {
            continue;
        };
        let file = Path::new(file);
        let bases = [
            file.parent().unwrap_or(Path::new("")).to_owned(),
            crate_dir(&root, file),
        ];
        for (line, path) in relative_paths(&text) {
            if bases.iter().all(|base| leaves_root(&base.join(&path))) {
                escapes.push(format!("{}:{line}: {path}", file.display()));
            }
        }
    }
    if escapes.is_empty() {
        println!("self-contained: no tracked source names a path outside the repository");
        Ok(())
    } else {
        Err(format!(
            "paths that leave the repository (a fresh clone fails there):\n  {}",
            escapes.join("\n  ")
        ))
    }
}

fn repository_root() -> Result<PathBuf, String> {
    let output = Command::new("git")
        .args(["rev-parse", "--show-toplevel"])
        .output()
        .map_err(|e| format!("git rev-parse: {e}"))?;
    Ok(PathBuf::from(
        String::from_utf8_lossy(&output.stdout).trim(),
    ))
}

/// The folder of the nearest `Cargo.toml` above `file` (relative to the root).
fn crate_dir(root: &Path, file: &Path) -> PathBuf {
    let mut dir = file.parent();
    while let Some(candidate) = dir {
        if root.join(candidate).join("Cargo.toml").is_file() {
            return candidate.to_owned();
        }
        dir = candidate.parent();
    }
    PathBuf::new()
}

/// Every string literal that starts with `../` or `/../`, with its line number.
fn relative_paths(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (number, line) in text.lines().enumerate() {
        for quoted in line.split('"').skip(1).step_by(2) {
            let path = quoted.strip_prefix('/').unwrap_or(quoted);
            if path.starts_with("../") {
                found.push((number + 1, path.to_owned()));
            }
        }
    }
    found
}

/// Whether a path relative to the root climbs above it.
fn leaves_root(path: &Path) -> bool {
    let mut depth = 0i32;
    for component in path.components() {
        match component {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            _ => {}
        }
        if depth < 0 {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_inside_pass_and_paths_outside_fail() {
        let text = r#"#[path = "../common/mod.rs"]
const A: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../sibling/fixtures/x.json");"#;
        let found = relative_paths(text);
        assert_eq!(found.len(), 2);
        let module = Path::new("storage/src/blocking");
        assert!(!leaves_root(&module.join(&found[0].1)));
        assert!(leaves_root(&Path::new("storage").join(&found[1].1)));
        assert!(leaves_root(Path::new("xtask/../../x")));
        assert!(!leaves_root(Path::new("xtask/../fixtures/x")));
    }
}
