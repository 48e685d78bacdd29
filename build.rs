//! The web UI (`clients/web/dist`, built by Vite and committed) is embedded
//! in the binary by `rust-embed`; rebuild when its files change, including
//! when files are added or removed (new asset hashes).
fn main() {
    println!("cargo:rerun-if-changed=clients/web/dist");
}
