//! The page object (`docs/protocols.md` §3.2).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

/// What the client renders: a component, its props, and protocol metadata.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Page {
    /// The component name, e.g. `Users/Index`.
    pub component: String,
    /// The props; always contains `errors`.
    pub props: Map<String, Value>,
    /// Path and query as requested.
    pub url: String,
    /// The asset version.
    pub version: String,
    /// Deferred props by group, loaded by the client after the first render.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub deferred_props: BTreeMap<String, Vec<String>>,
    /// Props the client appends to what it has on partial reloads.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub merge_props: Vec<String>,
    /// Top-level keys that came from shared data.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub shared_props: Vec<String>,
    /// One-time messages from the previous request.
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub flash: Map<String, Value>,
    /// Ask the client to encrypt its history state.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub encrypt_history: bool,
    /// Ask the client to clear its history state.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub clear_history: bool,
}
