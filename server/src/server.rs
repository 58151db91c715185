//! Wiring: bind the listeners, open the store, serve until shutdown, drain.
//!
//! [`run`] binds what the settings name and calls [`serve`], which takes
//! listeners already bound (tests bind `127.0.0.1:0` and run pushd in
//! process) and a shutdown future, in the way of mini-redis's `server::run`.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use push_proto::admin as admin_pb;
use push_proto::v1::{
    FILE_DESCRIPTOR_SET, device_server::DeviceServer, sender_server::SenderServer,
};

use tokio::net::TcpListener;

use crate::api::{DeviceApi, SenderApi, admin_service};
use crate::auth::{ENDPOINT_TOKEN_SECRET, OidcAuthenticator, ServiceBlocks};
use crate::bridges;
use crate::cluster::{ClusterNode, Directory};
use crate::config::{Settings, StoreChoice};
use crate::delivery::{Hub, Unacked};
use crate::http::{FrontsLayer, HttpFront};
use crate::limits::RequestDeadlineLayer;
use crate::services::{Foundations, ServiceLimits, Services};
use crate::store::scylla::ScyllaStore;
use crate::store::sqlite::{SqliteOptions, SqliteStore};
use crate::store::{Store, spawn_expiry, spawn_unused_device_reaper};
use crate::submit::Router;
use crate::websocket::WebSocketFront;
use crate::{telemetry, transport};
use tower::Layer as _;

mod ready;
mod start_error;

pub use start_error::StartError;

/// Largest frame a client may send; a Hello or an ack batch is far smaller,
/// and a 4096-byte payload plus framing fits with room to spare.
const MAX_DECODING_BYTES: usize = 64 * 1024;
/// Streams pushd may reset for a client's protocol errors before it closes
/// the connection (h2's own default).
const MAX_LOCAL_ERROR_RESETS: usize = 1024;
/// What HTTP/2 buffers per stream for a slow reader (hyper's default is
/// 400 KiB); a stream's unacked messages are bounded on their own.
const MAX_SEND_BUFFER: usize = 64 * 1024;

/// The endpoint token key (message handles derive theirs from it too): made
/// by the first node to start, shared by all.
async fn token_master(store: &dyn Store) -> Result<Vec<u8>, StartError> {
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
struct Opened {
    store: Arc<dyn Store>,
    /// Closed (its writer flushed) on shutdown.
    sqlite: Option<Arc<SqliteStore>>,
    /// A store the nodes share keeps the cluster directory.
    directory: Option<Arc<dyn Directory>>,
}

async fn open_store(settings: &Settings) -> Result<Opened, StartError> {
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

/// The sockets pushd serves on, bound before [`serve`] is called.
pub struct Listeners {
    /// gRPC, RFC 8030 HTTP and WebSocket, on one port.
    pub public: TcpListener,
    /// Prometheus `/metrics`; None serves none.
    pub metrics: Option<TcpListener>,
    /// The internal node-to-node service; needed when the settings name a cluster.
    pub cluster: Option<TcpListener>,
}

impl Listeners {
    /// Binds the addresses the settings name (`listen`, `metrics_listen`,
    /// `cluster_listen`).
    pub(crate) async fn bind(settings: &Settings) -> Result<Self, StartError> {
        let failed = |what, address| {
            move |source| StartError::Bind {
                what,
                address,
                source,
            }
        };
        let public = transport::bind(settings.listen)
            .map_err(failed("the public listener (listen)", settings.listen))?;
        let metrics = match settings.metrics_listen {
            Some(address) => Some(
                TcpListener::bind(address)
                    .await
                    .map_err(failed("metrics (metrics_listen)", address))?,
            ),
            None => None,
        };
        let cluster = match &settings.cluster {
            Some(cluster) => Some(TcpListener::bind(cluster.listen).await.map_err(failed(
                "the cluster listener (cluster_listen)",
                cluster.listen,
            ))?),
            None => None,
        };
        Ok(Self {
            public,
            metrics,
            cluster,
        })
    }
}

/// Runs `pushd` on the addresses in `settings` until `shutdown` resolves,
/// then drains and returns.
pub async fn run(
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let listeners = Listeners::bind(&settings).await?;
    serve(settings, listeners, shutdown).await
}

/// Runs `pushd` on `listeners` until `shutdown` resolves, then drains and
/// returns. The listen addresses in `settings` are not used; the bound
/// ones are logged and written to the ready file.
pub async fn serve(
    settings: Settings,
    listeners: Listeners,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let Opened {
        store,
        sqlite,
        directory,
    } = open_store(&settings).await?;

    let tls = match &settings.security.tls {
        Some(files) => Some(transport::tls(&files.cert_file, &files.key_file)?),
        None => None,
    };
    let max_connections = transport::descriptors::max_connections(
        settings.connections.max_connections,
        transport::descriptors::raise_open_files_limit(),
    );
    let local_addr = |listener: &TcpListener, what| {
        listener
            .local_addr()
            .map_err(|source| StartError::LocalAddr { what, source })
    };
    let listener = listeners.public;
    let grpc_addr = local_addr(&listener, "the public listener (listen)")?;
    let metrics_addr = match listeners.metrics {
        Some(metrics_listener) => {
            let bound = local_addr(&metrics_listener, "metrics (metrics_listen)")?;
            tokio::spawn(telemetry::serve_metrics(
                metrics_listener,
                telemetry::metrics_handle(),
            ));
            Some(bound)
        }
        None => None,
    };
    let public_url = settings.public_url.clone().unwrap_or_else(|| {
        let scheme = if tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{grpc_addr}")
    });

    let hub = Arc::new(Hub::default());
    let (drain_started, mut draining) = tokio::sync::watch::channel(false);
    // Leaving starts with the drain, so other nodes stop forwarding here at once.
    let (cluster_node, cluster_addr) = match (&settings.cluster, directory) {
        (Some(cluster), Some(directory)) => {
            let listener = listeners.cluster.ok_or(StartError::NoClusterListener)?;
            let bound = local_addr(&listener, "the cluster listener (cluster_listen)")?;
            let node = ClusterNode::start(
                cluster,
                listener,
                directory,
                (hub.clone(), settings.bridges.policy),
                draining.clone(),
            )
            .await
            .map_err(|error| StartError::Cluster(error.into()))?;
            (Some(node), Some(bound))
        }
        _ => (None, None),
    };
    let router = Arc::new(Router::new(
        store.clone(),
        hub.clone(),
        cluster_node.as_ref().map(|node| node.cluster.clone()),
        bridges::start(&settings.bridges, store.clone(), hub.clone())
            .await
            .map_err(|error| StartError::Bridges(error.into()))?,
        settings.retention,
    ));
    let limits = ServiceLimits {
        max_ttl_seconds: settings.max_ttl_seconds,
        retention: settings.retention,
        handshake_timeout: settings.handshake_timeout,
        max_account_devices: settings.max_account_devices,
        max_subscriptions_per_device: settings.security.max_subscriptions_per_device,
        rates: settings.security.rates,
        receipt_retention: settings.receipt_retention,
        max_receipt_watchers: settings.max_receipt_watchers,
        unacked: Unacked::new(
            settings.connections.max_stream_unacked_bytes,
            settings.connections.max_unacked_bytes_total,
        ),
        vapid_cache_bytes: settings.security.vapid_cache_bytes,
    };
    let service_blocks = Arc::new(ServiceBlocks::default());
    service_blocks
        .reload(store.as_ref())
        .await
        .map_err(|source| StartError::Store {
            what: "sender block list",
            source,
        })?;
    service_blocks.keep_reloading(store.clone());
    let admin = settings
        .security
        .admin_token
        .as_deref()
        .map(|token| admin_service(store.clone(), service_blocks.clone(), token));
    let oidc = match &settings.security.oidc {
        Some(oidc) => Some(Arc::new(
            OidcAuthenticator::start(oidc.clone(), store.clone())
                .await
                .map_err(|error| StartError::IdentityProvider(error.into()))?,
        )),
        None => None,
    };
    let services = Services::build(
        Foundations {
            store: store.clone(),
            router,
            public_url: public_url.clone(),
            service_blocks,
            oidc,
            token_master: token_master(store.as_ref()).await?,
        },
        limits,
    );
    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<SenderServer<SenderApi>>().await;
    health.set_serving::<DeviceServer<DeviceApi>>().await;
    let mut reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        // So `grpcurl` can call the health service by name too.
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET);
    // Advertised only where served: listing it elsewhere would tell a
    // scanner of an API that answers UNIMPLEMENTED.
    if admin.is_some() {
        reflection = reflection.register_encoded_file_descriptor_set(admin_pb::FILE_DESCRIPTOR_SET);
    }
    let reflection = reflection.build_v1().map_err(StartError::Reflection)?;

    let (stop_expiry, expiry_stopped) = tokio::sync::watch::channel(false);
    spawn_unused_device_reaper(
        store.clone(),
        settings.unused_device_after,
        // Often enough that a device goes soon after its time, and at most
        // every 10 minutes: one read of the registrations each time.
        (settings.unused_device_after / 4).clamp(Duration::from_secs(1), Duration::from_secs(600)),
        expiry_stopped.clone(),
    );
    let expiry = spawn_expiry(store.clone(), settings.expiry_interval, expiry_stopped);
    let drain_hub = hub.clone();
    let signal = async move {
        shutdown.await;
        health.set_not_serving::<SenderServer<SenderApi>>().await;
        health.set_not_serving::<DeviceServer<DeviceApi>>().await;
        let streams = drain_hub.drain();
        tracing::info!(
            streams,
            "shutting down: draining streams and in-flight requests"
        );
        let _ = drain_started.send(true);
    };

    tracing::info!(
        grpc_addr = %grpc_addr,
        metrics_addr = %metrics_addr.map_or("off".to_string(), |address| address.to_string()),
        store = %match &settings.store {
            StoreChoice::Sqlite => format!("sqlite:{}", settings.data_dir.display()),
            StoreChoice::Scylla(options) => format!("scylla:{}/{}", options.nodes.join(","), options.keyspace),
        },
        public_url = %public_url,
        max_connections,
        "pushd listening"
    );
    if let Some(path) = &settings.ready_file {
        let announced = ready::Announced {
            listen: grpc_addr,
            metrics: metrics_addr,
            cluster: cluster_addr.zip(
                cluster_node
                    .as_ref()
                    .map(|node| node.cluster.node().node_id.as_str()),
            ),
        };
        ready::write(path, &announced).await?;
    }
    let connections = &settings.connections;
    let incoming = transport::connections(
        listener,
        connections,
        max_connections,
        tls,
        transport::Lifetime {
            opening: settings.handshake_timeout,
            at_most: connections
                .max_connection_age
                .map(|age| age + connections.max_connection_age_grace),
        },
    );
    let http_front = HttpFront::new(
        services.sender.clone(),
        draining.clone(),
        settings.handshake_timeout,
    );
    let websocket_front = WebSocketFront::new(
        services.devices.clone(),
        services.subscriptions.clone(),
        settings.handshake_timeout,
    );
    let sender_api = SenderApi::new(&services);
    let mut routes =
        tonic::service::Routes::new(health_service.max_decoding_message_size(MAX_DECODING_BYTES))
            .add_service(reflection.max_decoding_message_size(MAX_DECODING_BYTES))
            .add_service(
                sender_api.gate().layer(
                    SenderServer::new(sender_api).max_decoding_message_size(MAX_DECODING_BYTES),
                ),
            )
            .add_service(
                DeviceServer::new(DeviceApi::new(&services))
                    .max_decoding_message_size(MAX_DECODING_BYTES),
            );
    if let Some(admin) = admin {
        routes = routes.add_service(admin);
    }
    let service = tower::ServiceBuilder::new()
        // Outermost: requests that are not gRPC never reach the gRPC routes.
        .layer(FrontsLayer {
            http: http_front,
            websocket: websocket_front,
        })
        // Inside the split: an HTTP push has its own body deadline and status.
        .layer(RequestDeadlineLayer {
            limit: connections.request_timeout,
        })
        .service(routes.prepare());
    let limits = transport::ConnectionLimits {
        // One connection holds at most this many streams (each a request
        // and its buffers); the client waits for a free one.
        max_streams: connections.max_streams_per_connection,
        max_local_resets: MAX_LOCAL_ERROR_RESETS,
        max_age: connections.max_connection_age,
        keepalive_interval: Duration::from_secs(60),
        keepalive_timeout: Duration::from_secs(20),
        header_read_timeout: settings.handshake_timeout,
        max_send_buffer: MAX_SEND_BUFFER,
    };
    let serve = transport::serve(incoming, service, limits, signal);
    let drain_timeout = settings.drain_timeout;
    let deadline = async move {
        let _ = draining.wait_for(|started| *started).await;
        tokio::time::sleep(drain_timeout).await;
    };
    tokio::select! {
        _ = serve => {}
        _ = deadline => tracing::warn!("drain deadline passed; closing the remaining connections"),
    }
    if let Some(node) = cluster_node {
        node.left().await;
    }
    let _ = stop_expiry.send(true);
    let _ = expiry.await;
    // Every write already acknowledged is durable; this finishes the rest.
    if let Some(sqlite) = sqlite {
        sqlite.close().await;
    }
    if let Some(path) = &settings.ready_file {
        ready::remove(path).await;
    }
    tracing::info!("pushd stopped");
    Ok(())
}
