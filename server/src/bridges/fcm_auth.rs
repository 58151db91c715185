//! FCM's OAuth2 access token, as google-fcm1 asks for it on every send:
//! yup-oauth2 signs in with the service account, and a [`SharedToken`]
//! makes concurrent sends wait for one sign-in, bounded in time.
//! FCM sends ask for one scope set, so one token serves them all.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use google_fcm1::common::GetToken;
use tokio::time::Instant;
use yup_oauth2::authenticator::DefaultAuthenticator;

use super::token::SharedToken;

/// Why signing in with the service account gave no token.
#[derive(Debug, thiserror::Error)]
enum SignInError {
    #[error(transparent)]
    Refused(#[from] yup_oauth2::Error),
    #[error("the token endpoint sent no access token")]
    NoAccessToken,
}

/// Stop using a token this long before Google says it expires (as
/// yup-oauth2 does), so no send carries one that lapses in flight.
const EARLY: i64 = 60;

type TokenFuture<'a> = Pin<
    Box<
        dyn Future<Output = Result<Option<String>, Box<dyn std::error::Error + Send + Sync>>>
            + Send
            + 'a,
    >,
>;

#[derive(Clone)]
pub(crate) struct FcmToken {
    authenticator: DefaultAuthenticator,
    shared: Arc<SharedToken>,
}

impl FcmToken {
    pub(crate) fn new(authenticator: DefaultAuthenticator, limit: Duration) -> Self {
        Self {
            authenticator,
            shared: Arc::new(SharedToken::new("fcm", limit)),
        }
    }
}

impl GetToken for FcmToken {
    fn get_token<'a>(&'a self, scopes: &'a [&str]) -> TokenFuture<'a> {
        Box::pin(async move {
            let refresh = || async move {
                let token = self.authenticator.token(scopes).await?;
                let value = token.token().ok_or(SignInError::NoAccessToken)?.to_string();
                let seconds_left = token.expiration_time().map_or(0, |expires| {
                    expires.unix_timestamp() - time_now_unix() - EARLY
                });
                let usable = Duration::from_secs(u64::try_from(seconds_left).unwrap_or(0));
                Ok::<_, SignInError>((value, Instant::now() + usable))
            };
            let token = self.shared.get(refresh).await?;
            Ok(Some(token))
        })
    }
}

fn time_now_unix() -> i64 {
    crate::domain::now_millis() / 1000
}
