//! The uniffi bindings generator, pinned to this workspace's uniffi version:
//! `cargo run -p xuncha-ffi --features cli --bin uniffi-bindgen -- generate --language kotlin \
//!     --out-dir OUT target/release/libxuncha_ffi.so`
fn main() {
    uniffi::uniffi_bindgen_main()
}
