//! Building the tonic channel both clients share, and attaching `authorization` metadata.
use std::time::Duration;

use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};

use crate::SdkError;

/// How long a TCP + HTTP/2 handshake may take before a call fails instead of hanging.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Deadline for unary calls; `Listen` is long-lived and has none.
pub(crate) const UNARY_TIMEOUT: Duration = Duration::from_secs(30);

pub(crate) fn endpoint(server_url: &str) -> Result<Endpoint, SdkError> {
    let invalid = |reason: String| SdkError::InvalidServerUrl {
        url: server_url.to_owned(),
        reason,
    };
    let url = url::Url::parse(server_url).map_err(|e| invalid(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("scheme must be http or https".into()));
    }
    let mut endpoint =
        Channel::from_shared(server_url.to_owned()).map_err(|e| invalid(e.to_string()))?;
    if url.scheme() == "https" {
        // The system's roots where it has a store (SSL_CERT_FILE is honoured), and Mozilla's
        // list everywhere (phones included).
        let tls = ClientTlsConfig::new()
            .with_native_roots()
            .with_webpki_roots();
        endpoint = endpoint
            .tls_config(tls)
            .map_err(|e| invalid(format!("TLS setup: {e}")))?;
    }
    let endpoint = endpoint
        .connect_timeout(CONNECT_TIMEOUT)
        // Pings let a device notice a dead network path while `Listen` sits idle, instead of
        // waiting for TCP to give up minutes later.
        .http2_keep_alive_interval(Duration::from_secs(30))
        .keep_alive_timeout(Duration::from_secs(10))
        .keep_alive_while_idle(true);
    Ok(endpoint)
}

/// A request carrying `authorization: <value>`.
pub(crate) fn authorized<T>(
    message: T,
    authorization: &str,
) -> Result<tonic::Request<T>, SdkError> {
    let value: MetadataValue<_> = authorization.parse().map_err(|_| {
        SdkError::Protocol("authorization value is not valid ASCII metadata".into())
    })?;
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert("authorization", value);
    Ok(request)
}
