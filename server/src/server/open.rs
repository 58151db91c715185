//! The store the settings name, and what the server reads from it before
//! serving.

use std::sync::Arc;

use super::StartError;
use crate::auth::ENDPOINT_TOKEN_SECRET;
use crate::cluster::Directory;
use crate::config::{Settings, StoreChoice};
use crate::store::Store;
use crate::store::scylla::ScyllaStore;
use crate::store::sqlite::{SqliteOptions, SqliteStore};

/// The endpoint token key (message handles derive theirs from it too): made
/// by the first node to start, shared by all.
pub(super) async fn token_master(store: &dyn Store) -> Result<Vec<u8>, StartError> {
    let mut candidate = [0u8; 32];
    openssl::rand::rand_bytes(&mut candidate).map_err(StartError::Random)?;
    store
        .service_secret(ENDPOINT_TOKEN_SECRET, &candidate)
        .await
        .map_err(|source| StartError::Store {
            what: "endpoint token key",
            source,
        })
}

/// The configured store, with the views of it the server needs besides
/// [`Store`].
pub(super) struct Opened {
    pub(super) store: Arc<dyn Store>,
    /// Closed (its writer flushed) on shutdown.
    pub(super) sqlite: Option<Arc<SqliteStore>>,
    /// A store the nodes share keeps the cluster directory.
    pub(super) directory: Option<Arc<dyn Directory>>,
}

pub(super) async fn open_store(settings: &Settings) -> Result<Opened, StartError> {
    match &settings.store {
        StoreChoice::Scylla(options) => {
            let store = ScyllaStore::connect(options, true)
                .await
                .map_err(|source| StartError::Scylla {
                    nodes: options.nodes.clone(),
                    keyspace: options.keyspace.clone(),
                    source,
                })?;
            let store = Arc::new(store);
            Ok(Opened {
                store: store.clone(),
                sqlite: None,
                directory: Some(store),
            })
        }
        StoreChoice::Sqlite => {
            std::fs::create_dir_all(&settings.data_dir).map_err(|source| StartError::DataDir {
                path: settings.data_dir.clone(),
                source,
            })?;
            let database = settings.data_dir.join("pushd.sqlite3");
            let options = SqliteOptions {
                synchronous_full: settings.sqlite_synchronous_full,
                live_ack_wait: settings.live_ack_wait,
                ..SqliteOptions::default()
            };
            let sqlite = Arc::new(SqliteStore::open(&database, options).map_err(|source| {
                StartError::Sqlite {
                    path: database.clone(),
                    source,
                }
            })?);
            Ok(Opened {
                store: sqlite.clone(),
                sqlite: Some(sqlite),
                directory: None,
            })
        }
    }
}
