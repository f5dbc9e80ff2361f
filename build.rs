//! Rebuild when migrations or the embedded front end change (refinery and rust-embed read
//! them at compile time).

fn main() {
    println!("cargo:rerun-if-changed=sql");
    println!("cargo:rerun-if-changed=assets/dist");
}
