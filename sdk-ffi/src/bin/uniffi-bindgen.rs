//! `uniffi-bindgen generate --library <libpush_ffi.so> --language kotlin|swift|python --out-dir <dir>`
fn main() {
    uniffi::uniffi_bindgen_main();
}
