//! The layering of the workspace, read from `cargo metadata`: each engine crate depends only
//! on the engines below it, never on the application crate, clap, or the web stack it does
//! not need. Cargo already refuses a cycle (the application depends on every engine); this
//! catches the dependencies that would compile but break the layers.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

/// Engine crate → the workspace crates it may use (directly).
const ENGINES: [(&str, &[&str]); 6] = [
    ("trifecta-store", &[]),
    ("trifecta-queue", &["trifecta-store"]),
    ("trifecta-cache", &["trifecta-store"]),
    ("trifecta-cable", &["trifecta-store"]),
    ("trifecta-actioncable", &["trifecta-cable"]),
    ("trifecta-inertia", &[]),
];

/// Crates no engine may use: the command line, and the HTTP stack for all but the two
/// protocol crates that serve over axum.
const NEVER: [&str; 3] = ["clap", "trifecta", "tower-http"];
const WEB: [&str; 3] = ["axum", "axum-extra", "hyper"];
const WEB_ENGINES: [&str; 2] = ["trifecta-actioncable", "trifecta-inertia"];

fn direct_dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let out = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).expect("metadata is JSON");
    meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| {
            let deps = p["dependencies"]
                .as_array()
                .expect("dependencies")
                .iter()
                .filter(|d| d["kind"].is_null())
                .map(|d| d["name"].as_str().expect("name").to_owned())
                .collect();
            (p["name"].as_str().expect("name").to_owned(), deps)
        })
        .collect()
}

#[test]
fn every_engine_depends_only_on_the_layers_below_it() {
    let deps = direct_dependencies();
    let workspace: BTreeSet<&str> = deps.keys().map(String::as_str).collect();
    let mut wrong = Vec::new();
    for (engine, allowed) in ENGINES {
        let Some(uses) = deps.get(engine) else {
            panic!("{engine} is not a workspace member");
        };
        for dep in uses {
            let dep = dep.as_str();
            let layered = workspace.contains(dep) && !allowed.contains(&dep);
            let web = WEB.contains(&dep) && !WEB_ENGINES.contains(&engine);
            if layered || web || NEVER.contains(&dep) {
                wrong.push(format!("{engine} -> {dep}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "dependencies that break the layers: {wrong:?}"
    );
    // The application crate is the only one that sees every engine.
    let app = &deps["trifecta"];
    for (engine, _) in ENGINES {
        assert!(app.contains(engine), "trifecta does not use {engine}");
    }
}
