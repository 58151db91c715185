//! OpenTelemetry traces of one message's path, exported over OTLP/gRPC
//! when `otlp_endpoint` is set: `submit` → `route` → `store` → (on another
//! node, through `forward` and `node.deliver`) → `deliver` → `ack`. The
//! cluster's internal call carries W3C trace context in its metadata
//! ([`propagation`]), so one message is one trace across nodes.
//!
//! The spans are `tracing` spans under their own target ([`TARGET`]): the
//! log filter turns them off, so logs read the same with or without
//! tracing, and without an endpoint nothing enables them at all (a
//! disabled span costs a branch and holds no memory).
//!
//! Export never holds up delivery: spans go into a bounded queue
//! ([`MAX_QUEUED_SPANS`]) that a background thread drains in batches;
//! when the collector is down or slow and the queue is full, new spans are
//! dropped (the SDK logs that once), never waited for.

pub(crate) mod propagation;

use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::registry::LookupSpan;

/// The target of every exported span; the log filter turns it off.
pub const TARGET: &str = "pushd_trace";

/// The log filter's directive that keeps these spans out of the logs.
pub(crate) fn logs_leave_out() -> tracing_subscriber::filter::Directive {
    format!("{TARGET}=off")
        .parse()
        .expect("a target and a level parse as a directive")
}

/// Spans waiting for export: a message makes about seven, so those of some
/// 1,100 messages. Past it spans are dropped rather than delivery slowed.
pub(crate) const MAX_QUEUED_SPANS: usize = 8192;
const MAX_BATCH: usize = 512;
/// One export call; a collector that hangs costs the export thread this long.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(5);
/// What a clean stop waits for the last batch.
const FLUSH_ON_STOP: Duration = Duration::from_secs(3);

/// The exporter, running; dropping it flushes what is queued (briefly).
pub struct Traces {
    provider: SdkTracerProvider,
}

impl Traces {
    /// Starts exporting to `endpoint` (`http://collector:4317`). Needs a
    /// tokio runtime: the gRPC channel lives on it.
    pub fn start(endpoint: &str) -> Result<Self, String> {
        // The exporter is built without TLS: a collector runs beside pushd or
        // on its private network, and the dependency stays small.
        if endpoint.starts_with("https://") {
            return Err(format!(
                "otlp_endpoint {endpoint:?}: TLS to the collector is not supported; \
                 use http:// to a collector on this host or a private network"
            ));
        }
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint)
            .with_timeout(EXPORT_TIMEOUT)
            .build()
            .map_err(|error| format!("otlp_endpoint {endpoint:?}: {error}"))?;
        let batches = BatchConfigBuilder::default()
            .with_max_queue_size(MAX_QUEUED_SPANS)
            .with_max_export_batch_size(MAX_BATCH)
            .build();
        let processor = BatchSpanProcessor::builder(exporter)
            .with_batch_config(batches)
            .build();
        // The nodes of a cluster differ by instance id. OTEL_SERVICE_NAME and
        // OTEL_RESOURCE_ATTRIBUTES (read by the builder) add to it.
        let mut resource = Resource::builder();
        if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
            resource = resource.with_service_name("pushd");
        }
        let resource = resource
            .with_attribute(KeyValue::new(
                "service.instance.id",
                uuid::Uuid::now_v7().simple().to_string(),
            ))
            .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
            .build();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor)
            .with_resource(resource)
            .build();
        Ok(Self { provider })
    }

    /// The `tracing` layer that turns this module's spans into OTLP spans;
    /// it sees nothing else.
    pub fn layer<S>(&self) -> impl Layer<S> + use<S>
    where
        S: tracing::Subscriber + for<'span> LookupSpan<'span>,
    {
        tracing_opentelemetry::layer()
            .with_tracer(self.provider.tracer("pushd"))
            .with_threads(false)
            .with_location(false)
            .with_filter(Targets::new().with_target(TARGET, tracing::Level::INFO))
    }
}

impl Drop for Traces {
    fn drop(&mut self) {
        let _ = self.provider.shutdown_with_timeout(FLUSH_ON_STOP);
    }
}
