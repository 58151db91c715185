//! Wiring: bind the listeners, open the store, serve until shutdown, drain.
//!
//! [`run`] binds what the settings name and calls [`serve`], which takes
//! listeners already bound (tests bind `127.0.0.1:0` and run pushd in
//! process) and a shutdown future, in the way of mini-redis's `server::run`.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::bridges;
use crate::cluster::ClusterNode;
use crate::config::{Settings, StoreChoice};
use crate::delivery::Hub;
use crate::store::{Store, spawn_expiry, spawn_unused_device_reaper};
use crate::submit::Router;
use crate::{telemetry, transport};
use open::{Opened, open_store};

mod assemble;
mod listeners;
mod open;
mod ready;
mod routes;
mod start_error;

pub use listeners::Listeners;
pub use start_error::StartError;

/// Streams pushd may reset for a client's protocol errors before it closes
/// the connection (h2's own default).
const MAX_LOCAL_ERROR_RESETS: usize = 1024;
/// What HTTP/2 buffers per stream for a slow reader (hyper's default is
/// 400 KiB); a stream's unacked messages are bounded on their own.
const MAX_SEND_BUFFER: usize = 64 * 1024;

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
    let (drain_started, mut draining) = tokio::sync::watch::channel(false);
    let mut metrics_task = None;
    let metrics_addr = match listeners.metrics {
        Some(metrics_listener) => {
            let bound = local_addr(&metrics_listener, "metrics (metrics_listen)")?;
            metrics_task = Some(tokio::spawn(telemetry::serve_metrics(
                metrics_listener,
                telemetry::metrics_handle(),
                telemetry::Readiness::new(store_check(&store), draining.clone()),
            )));
            Some(bound)
        }
        None => None,
    };
    let public_url = settings.public_url.clone().unwrap_or_else(|| {
        let scheme = if tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{grpc_addr}")
    });

    let hub = Arc::new(Hub::default());
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
    let (services, admin) =
        assemble::services(&settings, &store, router, public_url.clone()).await?;
    let (service, health) =
        routes::public_service(&settings, &services, admin, draining.clone()).await?;

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
        routes::not_serving(&health).await;
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
    // Its readiness check holds the store; a caller serving again in this
    // process gets a listener of its own.
    if let Some(task) = metrics_task {
        task.abort();
    }
    tracing::info!("pushd stopped");
    Ok(())
}

/// What `/readyz` asks the store, in the form telemetry takes it.
fn store_check(store: &Arc<dyn Store>) -> telemetry::StoreCheck {
    let store = store.clone();
    Arc::new(move || {
        let store = store.clone();
        Box::pin(async move { store.ping().await.map_err(|error| error.to_string()) })
            as telemetry::CheckAnswer
    })
}
