//! Wiring: open the store, bind the listeners, serve until shutdown, drain.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
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
async fn token_master(store: &dyn Store) -> anyhow::Result<Vec<u8>> {
    let mut candidate = [0u8; 32];
    openssl::rand::rand_bytes(&mut candidate).context("the OS random number generator failed")?;
    store
        .service_secret(ENDPOINT_TOKEN_SECRET, &candidate)
        .await
        .context("reading the endpoint token key")
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

async fn open_store(settings: &Settings) -> anyhow::Result<Opened> {
    match &settings.store {
        StoreChoice::Scylla(options) => {
            let store = ScyllaStore::connect(options, true).await.with_context(|| {
                format!(
                    "connecting to {:?} (keyspace {})",
                    options.nodes, options.keyspace
                )
            })?;
            let store = Arc::new(store);
            Ok(Opened {
                store: store.clone(),
                sqlite: None,
                directory: Some(store),
            })
        }
        StoreChoice::Sqlite => {
            std::fs::create_dir_all(&settings.data_dir)
                .with_context(|| format!("creating data folder {}", settings.data_dir.display()))?;
            let database = settings.data_dir.join("pushd.sqlite3");
            let options = SqliteOptions {
                synchronous_full: settings.sqlite_synchronous_full,
                live_ack_wait: settings.live_ack_wait,
                ..SqliteOptions::default()
            };
            let sqlite = Arc::new(
                SqliteStore::open(&database, options)
                    .with_context(|| format!("opening {}", database.display()))?,
            );
            Ok(Opened {
                store: sqlite.clone(),
                sqlite: Some(sqlite),
                directory: None,
            })
        }
    }
}

/// Runs `pushd` until `shutdown` resolves, then drains and returns.
pub async fn run(
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
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
    let listener =
        transport::bind(settings.listen).with_context(|| format!("binding {}", settings.listen))?;
    let grpc_addr = listener.local_addr()?;
    let metrics_addr = match settings.metrics_listen {
        Some(address) => {
            let metrics_listener = TcpListener::bind(address)
                .await
                .with_context(|| format!("binding metrics on {address}"))?;
            let bound = metrics_listener.local_addr()?;
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
    let cluster_node = match (&settings.cluster, directory) {
        (Some(cluster), Some(directory)) => Some(
            ClusterNode::start(
                cluster,
                directory,
                (hub.clone(), settings.bridges.policy),
                draining.clone(),
            )
            .await?,
        ),
        _ => None,
    };
    let router = Arc::new(Router::new(
        store.clone(),
        hub.clone(),
        cluster_node.as_ref().map(|node| node.cluster.clone()),
        bridges::start(&settings.bridges, store.clone(), hub.clone())
            .await
            .map_err(anyhow::Error::msg)?,
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
        .context("reading the sender block list")?;
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
                .map_err(|error| anyhow::anyhow!("identity provider: {error}"))?,
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
    let reflection = reflection.build_v1()?;

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
    tracing::info!("pushd stopped");
    Ok(())
}
