//! Calls authorized by one shared secret (the cluster's, the operator's):
//! a tonic interceptor comparing `authorization: Bearer <secret>`.

use std::sync::Arc;

use tonic::{Request, Status};

#[derive(Clone)]
pub(crate) struct BearerSecret {
    expected: Arc<[u8]>,
    /// What a caller without the secret is told.
    refusal: &'static str,
}

impl BearerSecret {
    pub(crate) fn new(secret: &str, refusal: &'static str) -> Self {
        Self {
            expected: format!("Bearer {secret}").into_bytes().into(),
            refusal,
        }
    }
}

impl tonic::service::Interceptor for BearerSecret {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        let presented = request
            .metadata()
            .get("authorization")
            .map(tonic::metadata::MetadataValue::as_bytes)
            .unwrap_or_default();
        // Constant time, so the secret cannot be guessed byte by byte.
        let matches = presented.len() == self.expected.len()
            && openssl::memcmp::eq(presented, &self.expected);
        if matches {
            Ok(request)
        } else {
            Err(Status::unauthenticated(self.refusal))
        }
    }
}
