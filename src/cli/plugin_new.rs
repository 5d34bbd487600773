//! `footprint plugin new`: creates a plugin crate that builds for
//! `wasm32-wasip2` and passes its own tests as generated.
//!
//! The crate gets a copy of the WIT interface this binary speaks, embedded
//! at compile time, so a plugin always starts from the host's version. The
//! templates live in `src/cli/template/`. The scaffold is written into a
//! directory it creates itself and refuses to reuse an existing one, so it
//! never overwrites files. A write that fails halfway removes that
//! directory again.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The interface definition copied into every new plugin as `wit/world.wit`.
pub const WORLD_WIT: &str = include_str!("../../plugins/wit/world.wit");

const CARGO_TOML: &str = include_str!("template/Cargo.toml.tmpl");
const LIB_RS: &str = include_str!("template/lib.rs.tmpl");
const README_MD: &str = include_str!("template/README.md.tmpl");
const GITIGNORE: &str = include_str!("template/gitignore.tmpl");

/// Maximum length of a package name on crates.io, in bytes.
const MAX_NAME_LEN: usize = 64;

/// Names cargo rejects for a package: Rust keywords, and the built-in
/// crates a package name would shadow.
const RESERVED_NAMES: &[&str] = &[
    "abstract",
    "as",
    "async",
    "await",
    "become",
    "box",
    "break",
    "const",
    "continue",
    "crate",
    "do",
    "dyn",
    "else",
    "enum",
    "extern",
    "false",
    "final",
    "fn",
    "for",
    "gen",
    "if",
    "impl",
    "in",
    "let",
    "loop",
    "macro",
    "match",
    "mod",
    "move",
    "mut",
    "override",
    "priv",
    "pub",
    "ref",
    "return",
    "self",
    "static",
    "struct",
    "super",
    "trait",
    "true",
    "try",
    "type",
    "typeof",
    "unsafe",
    "unsized",
    "use",
    "virtual",
    "where",
    "while",
    "yield",
    "alloc",
    "core",
    "proc_macro",
    "proc-macro",
    "std",
    "test",
];

/// Errors of `footprint plugin new`.
#[derive(Debug, thiserror::Error)]
pub enum NewPluginError {
    #[error(
        "invalid plugin name {name:?}: {reason}; use ASCII letters, digits, `-` and `_`, starting with a letter, \
         such as `shop-newsletter`"
    )]
    InvalidName { name: String, reason: &'static str },
    #[error("{} already exists; pick another name or --dir, or remove it first", path.display())]
    AlreadyExists { path: PathBuf },
    #[error("failed to write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Checks `name` against cargo's rules for package names.
pub fn validate_name(name: &str) -> Result<(), NewPluginError> {
    let invalid = |reason| Err(NewPluginError::InvalidName { name: name.to_owned(), reason });

    let Some(first) = name.chars().next() else {
        return invalid("the name is empty");
    };
    if name.len() > MAX_NAME_LEN {
        return invalid("the name is longer than 64 characters");
    }
    if !first.is_ascii_alphabetic() {
        return invalid("the name does not start with a letter");
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return invalid("the name contains a character other than a letter, digit, `-` or `_`");
    }
    if RESERVED_NAMES.contains(&name) {
        return invalid("the name is a Rust keyword or a built-in crate name");
    }
    Ok(())
}

/// Creates the plugin crate `name` in the new directory `dir`, whose parent
/// directories are created as needed. Returns the files written, relative
/// to `dir`.
pub fn create_plugin(name: &str, dir: &Path) -> Result<Vec<PathBuf>, NewPluginError> {
    validate_name(name)?;

    if let Some(parent) = dir.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(|source| NewPluginError::Write { path: parent.to_owned(), source })?;
    }
    // `create_dir` fails when the directory exists, so a scaffold never
    // lands in a directory that already has content, even under a race.
    fs::create_dir(dir).map_err(|source| match source.kind() {
        io::ErrorKind::AlreadyExists => NewPluginError::AlreadyExists { path: dir.to_owned() },
        _ => NewPluginError::Write { path: dir.to_owned(), source },
    })?;

    let written = write_files(name, dir);
    if written.is_err() {
        // Best effort: the directory is ours, created just above.
        let _ = fs::remove_dir_all(dir);
    }
    written
}

fn write_files(name: &str, dir: &Path) -> Result<Vec<PathBuf>, NewPluginError> {
    // Cargo names the library file after the package with `-` turned into `_`.
    let lib_name = name.replace('-', "_");
    let render = |template: &str| template.replace("{{name}}", name).replace("{{lib_name}}", &lib_name);

    let files = [
        ("Cargo.toml", render(CARGO_TOML)),
        ("src/lib.rs", render(LIB_RS)),
        ("wit/world.wit", WORLD_WIT.to_owned()),
        ("README.md", render(README_MD)),
        (".gitignore", GITIGNORE.to_owned()),
    ];

    let mut written = Vec::with_capacity(files.len());
    for (relative, contents) in files {
        let path = dir.join(relative);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|source| NewPluginError::Write { path: parent.to_owned(), source })?;
        }
        fs::write(&path, contents).map_err(|source| NewPluginError::Write { path: path.clone(), source })?;
        written.push(PathBuf::from(relative));
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_crate_style_names() {
        for name in ["shop", "shop-newsletter", "shop_newsletter2", "A1"] {
            assert!(validate_name(name).is_ok(), "name {name:?}");
        }
    }

    #[test]
    fn rejects_invalid_names() {
        let too_long = "a".repeat(65);
        for name in [
            "",
            "1shop",
            "-shop",
            "shop plugin",
            "shop.plugin",
            "shop/plugin",
            "../shop",
            "café",
            "fn",
            "test",
            &too_long,
        ] {
            assert!(matches!(validate_name(name), Err(NewPluginError::InvalidName { .. })), "name {name:?}");
        }
    }

    #[test]
    fn writes_every_scaffold_file() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = root.path().join("nested/my-plugin");

        let written = create_plugin("my-plugin", &dir).expect("scaffold");

        assert_eq!(written.len(), 5);
        for relative in &written {
            assert!(dir.join(relative).is_file(), "missing {}", relative.display());
        }
        let cargo_toml = fs::read_to_string(dir.join("Cargo.toml")).expect("Cargo.toml");
        assert!(cargo_toml.contains("name = \"my-plugin\""));
        let readme = fs::read_to_string(dir.join("README.md")).expect("README.md");
        assert!(readme.contains("my_plugin.wasm"));
        assert!(!readme.contains("{{"));
        assert_eq!(fs::read_to_string(dir.join("wit/world.wit")).expect("world.wit"), WORLD_WIT);
    }

    #[test]
    fn rejects_existing_directory() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = root.path().join("taken");
        fs::create_dir(&dir).expect("mkdir");
        fs::write(dir.join("keep.txt"), "mine").expect("write");

        let error = create_plugin("taken", &dir).expect_err("existing directory");

        assert!(matches!(error, NewPluginError::AlreadyExists { .. }), "{error}");
        assert_eq!(fs::read_to_string(dir.join("keep.txt")).expect("read"), "mine");
        assert!(!dir.join("Cargo.toml").exists());
    }

    #[test]
    fn invalid_name_creates_nothing() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = root.path().join("bad");

        assert!(create_plugin("bad name", &dir).is_err());
        assert!(!dir.exists());
    }
}
