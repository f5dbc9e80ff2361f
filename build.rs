//! Rebuild when migrations or the embedded front end change (refinery and rust-embed read
//! them at compile time), and stop with a clear message when the front end was not built.

fn main() {
    println!("cargo:rerun-if-changed=sql");
    println!("cargo:rerun-if-changed=assets/dist");
    println!("cargo:rerun-if-changed=assets/dist/.vite/manifest.json");
    let manifest = std::path::Path::new("assets/dist/.vite/manifest.json");
    if !manifest.is_file() {
        eprintln!(
            "error: the front end is not built ({} is missing). Run `make build` \
             (or `npm ci --prefix assets && npm run build --prefix assets`) first.",
            manifest.display()
        );
        std::process::exit(1);
    }
}
