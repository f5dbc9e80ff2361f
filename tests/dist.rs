//! The binary of `make dist` starts on the Linux versions README promises: the newest glibc
//! symbol version it requires (read from its ELF `.gnu.version_r` with binutils' `readelf`)
//! is at most the glibc README names, and it runs here. `make test-dist` builds it and runs
//! this test (it is ignored by a plain `cargo test`, which does not build that binary).

use std::path::PathBuf;
use std::process::Command;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A version like `2.17` as comparable numbers.
fn version(text: &str) -> Vec<u32> {
    text.split('.').filter_map(|n| n.parse().ok()).collect()
}

/// The glibc version README's "Run it on a server" promises (`glibc X.Y or newer`).
fn promised_glibc() -> Result<String, Box<dyn std::error::Error>> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))?;
    let found = readme
        .split("glibc ")
        .skip(1)
        .find_map(|rest| {
            let v: String = rest
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            let v = v.trim_end_matches('.').to_owned();
            (rest[v.len()..].starts_with(" or newer") && v.contains('.')).then_some(v)
        })
        .ok_or("README names no `glibc X.Y or newer`")?;
    Ok(found)
}

#[test]
#[ignore = "reads the binary `make dist` builds; run by `make test-dist`"]
fn the_dist_binary_needs_no_newer_glibc_than_readme_promises() -> TestResult {
    let bin = PathBuf::from(
        std::env::var("TRIFECTA_DIST_BIN").unwrap_or_else(|_| "target/dist/trifecta".into()),
    );
    assert!(
        bin.is_file(),
        "{} is missing: run `make dist`",
        bin.display()
    );
    let out = Command::new("readelf")
        .args(["--version-info", "--wide"])
        .arg(&bin)
        .output()?;
    assert!(out.status.success(), "readelf failed");
    let text = String::from_utf8(out.stdout)?;
    let mut required: Vec<Vec<u32>> = text
        .split_whitespace()
        .filter_map(|word| word.strip_prefix("GLIBC_"))
        .filter(|v| v.starts_with(|c: char| c.is_ascii_digit()))
        .map(version)
        .collect();
    required.sort();
    let newest = required.last().cloned().unwrap_or_default();
    let promised = promised_glibc()?;
    assert!(
        newest <= version(&promised),
        "{} requires GLIBC_{newest:?}, README promises glibc {promised} or newer",
        bin.display()
    );
    // Dynamically linked against glibc (not static), and it starts here.
    assert!(!required.is_empty(), "no glibc symbol versions found");
    let run = Command::new(&bin).arg("--version").output()?;
    assert!(run.status.success(), "{} --version failed", bin.display());
    assert!(String::from_utf8(run.stdout)?.starts_with("trifecta "));
    Ok(())
}
