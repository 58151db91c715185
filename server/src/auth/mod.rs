//! Who is calling: devices by the credential `pushd` issued them, senders by
//! VAPID (RFC 8292), and which senders the operator refuses. Handlers get a
//! verified identity or a typed error; the API layer maps those errors to
//! gRPC statuses once.

mod blocklist;
mod credential;
mod endpoint_token;
mod jwks;
mod jwt;
mod message_handle;
mod oidc;
mod secret;
mod vapid;

pub(crate) use blocklist::{ServiceBlocks, normalize_contact};
pub(crate) use credential::{
    AuthenticatedDevice, CredentialAuthenticator, DeviceAuthError, DeviceAuthenticator,
    IssuedCredential, Presented,
};
pub use endpoint_token::EndpointTokens;
pub(crate) use endpoint_token::{SECRET_NAME as ENDPOINT_TOKEN_SECRET, TOKEN_CHARS};
pub(crate) use jwks::{ProviderUrlProblem, check_provider_url};
pub(crate) use jwt::P256KeyError;
pub(crate) use message_handle::{MessageCopy, MessageHandles, OpenedHandle};
pub(crate) use oidc::{OidcAuthenticator, OidcSettings};
pub(crate) use secret::BearerSecret;
pub use vapid::{CacheUsage, VapidError, VapidVerifier, VerifiedSender};

/// Checks that `raw` is an uncompressed P-256 public key (an application-server key).
pub(crate) fn check_p256_key(raw: &[u8]) -> Result<(), P256KeyError> {
    jwt::p256_public_key(raw).map(|_| ())
}
