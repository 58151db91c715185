//! The store conformance suite against the embedded SQLite backend.

use std::sync::Arc;

use pushd::store::Store;
use pushd::store::sqlite::{SqliteOptions, SqliteStore};

async fn fresh_store() -> Arc<dyn Store> {
    // Leaked on purpose: the folder must outlive the store, and each test process is short-lived.
    let folder = Box::leak(Box::new(tempfile::tempdir().expect("temp dir")));
    let store = SqliteStore::open(
        &folder.path().join("store.sqlite3"),
        SqliteOptions::default(),
    )
    .expect("open store");
    Arc::new(store)
}

pushd::store_conformance_suite!(fresh_store());
