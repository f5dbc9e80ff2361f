//! Reads Vite's `.vite/manifest.json`: the entry's script and styles for the HTML `<head>`,
//! and the Inertia asset version (a hash of the manifest, so any rebuilt file changes it).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::Dist;

const MANIFEST: &str = ".vite/manifest.json";
const ENTRY: &str = "src/main.jsx";

#[derive(Deserialize)]
struct Chunk {
    file: String,
    #[serde(default)]
    css: Vec<String>,
    #[serde(default)]
    imports: Vec<String>,
}

/// What the server needs to know about the built front end.
#[derive(Debug, Clone)]
pub(in crate::web) struct Manifest {
    /// The Inertia asset version.
    pub version: String,
    /// `<link>` and `<script>` tags of the entry.
    pub head: String,
}

impl Manifest {
    /// Reads the embedded manifest. build.rs guarantees it exists; a broken one still gives
    /// a server that answers (with a page that says the front end is missing).
    pub fn load() -> Self {
        let Some(file) = Dist::get(MANIFEST) else {
            tracing::error!("front-end manifest missing from the binary; run `make build`");
            return Self::broken();
        };
        let version = hex::encode(&file.metadata.sha256_hash()[..8]);
        let chunks: BTreeMap<String, Chunk> = match serde_json::from_slice(&file.data) {
            Ok(c) => c,
            Err(err) => {
                tracing::error!(cause = %err, "front-end manifest unreadable; run `make build`");
                return Self::broken();
            }
        };
        let Some(entry) = chunks.get(ENTRY) else {
            tracing::error!(
                entry = ENTRY,
                "front-end manifest has no entry; run `make build`"
            );
            return Self::broken();
        };
        let mut head =
            String::from("<title>trifecta</title>\n<link rel=\"icon\" href=\"data:,\">\n");
        for css in &entry.css {
            head.push_str(&format!("<link rel=\"stylesheet\" href=\"/{css}\">\n"));
        }
        for import in entry.imports.iter().filter_map(|i| chunks.get(i)) {
            head.push_str(&format!(
                "<link rel=\"modulepreload\" href=\"/{}\">\n",
                import.file
            ));
        }
        head.push_str(&format!(
            "<script type=\"module\" src=\"/{}\"></script>",
            entry.file
        ));
        Self { version, head }
    }

    fn broken() -> Self {
        Self {
            version: "missing".to_owned(),
            head: "<title>trifecta</title>".to_owned(),
        }
    }
}
