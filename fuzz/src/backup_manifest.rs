//! `manifest.json` of a backup, as `trifecta restore` reads it: a manifest that parses is of
//! the format this binary reads and re-encodes to itself; a file name it accepts stays
//! inside the backup directory; anything else is `NotABackup`.

use std::path::{Component, Path};

use trifecta::backup::{Error, FORMAT, parse_manifest};

/// Checks one manifest text.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let src = Path::new("backup");
    let manifest = match parse_manifest(src, text) {
        Ok(manifest) => manifest,
        Err(Error::NotABackup { path, .. }) => {
            assert_eq!(path, src);
            return;
        }
        Err(other) => panic!("a bad manifest gave {other:?}, not NotABackup"),
    };
    assert_eq!(manifest.format, FORMAT);
    assert!(manifest.files.len() <= text.len());
    let again = serde_json::to_string_pretty(&manifest).expect("a manifest serialises");
    let reread = parse_manifest(src, &again).expect("a written manifest reads");
    assert_eq!(reread, manifest);
    for entry in &manifest.files {
        if entry.has_plain_name() {
            let inside = src.join(&entry.name);
            assert_eq!(
                inside.parent(),
                Some(src),
                "{:?} leaves the backup",
                entry.name
            );
            assert!(
                inside
                    .components()
                    .all(|c| matches!(c, Component::Normal(_))),
                "{:?} is not a plain name",
                entry.name
            );
        }
    }
}
