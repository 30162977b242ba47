//! `cargo run -p uniffi-bindgen -- generate --library <libcurbside_ffi.so> ...`
fn main() {
    uniffi::uniffi_bindgen_main()
}
