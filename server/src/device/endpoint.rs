//! Endpoint URLs: `<public url>/push/<token>`, where the token is the
//! subscription id sealed by [`crate::auth::EndpointTokens`] (endpoints
//! handed out before tokens were sealed carry the bare id, and still work).
//! Senders may hand back the whole URL or just the token
//! ([`crate::submit`] reads it).

use std::sync::Arc;

use crate::auth::EndpointTokens;

/// Makes the endpoint URL senders get for a subscription.
#[derive(Clone)]
pub(crate) struct Endpoints {
    pub(crate) tokens: Arc<EndpointTokens>,
    pub(crate) public_url: String,
}

impl Endpoints {
    pub(crate) fn of(&self, subscription_id: &str) -> String {
        let token = self.tokens.seal(subscription_id);
        endpoint_url(
            &self.public_url,
            token.as_deref().unwrap_or(subscription_id),
        )
    }
}

pub(super) fn endpoint_url(public_url: &str, token: &str) -> String {
    format!("{}/push/{token}", public_url.trim_end_matches('/'))
}

/// `scheme://host[:port]` of a URL: what a VAPID token's `aud` must say.
pub fn origin_of(url: &str) -> String {
    let trimmed = url.trim_end_matches('/');
    let after_scheme = trimmed.find("://").map_or(0, |index| index + 3);
    match trimmed[after_scheme..].find('/') {
        Some(path_start) => trimmed[..after_scheme + path_start].to_owned(),
        None => trimmed.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::submit::token_of;

    #[test]
    fn origins_and_tokens() {
        assert_eq!(
            origin_of("https://push.example.com/"),
            "https://push.example.com"
        );
        assert_eq!(
            origin_of("http://127.0.0.1:8070/push/abc"),
            "http://127.0.0.1:8070"
        );
        let token = "AAAAAAAAAAAAAAAAAAAAAA";
        let url = endpoint_url("https://push.example.com/", token);
        assert_eq!(url, format!("https://push.example.com/push/{token}"));
        assert_eq!(token_of(&url).ok(), Some(token));
        assert_eq!(token_of(token).ok(), Some(token));
        assert!(token_of("").is_err());
        assert!(token_of("https://push.example.com/push/short").is_err());
    }
}
