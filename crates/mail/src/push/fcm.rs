//! The push sender: Firebase Cloud Messaging, HTTP v1 API.
//!
//! Each message is `POST {endpoint}/v1/projects/{project}/messages:send` with an OAuth access
//! token. The token comes from the service account: a JWT assertion signed RS256 with the
//! account's private key, exchanged at the token endpoint (`grant_type`
//! `urn:ietf:params:oauth:grant-type:jwt-bearer`), and kept until five minutes before it
//! expires. The signature is made with `ring` (already the TLS stack's cryptography): the `rsa`
//! crate is banned and jsonwebtoken has no backend here. HTTPS is hyper over rustls with ring.
//!
//! What FCM answers decides the row's fate: 200 sent; 404 or `UNREGISTERED`, a 400
//! `INVALID_ARGUMENT` about the registration token, or `SENDER_ID_MISMATCH`: the device is gone;
//! 429 and 5xx (with their `Retry-After`), network errors and timeouts: try again later; any other
//! refusal: the message is failed.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use http_body_util::{BodyExt as _, Full};
use hyper::{Method, Request, StatusCode, header};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use peken_kernel::settings::Settings;
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tokio::sync::Mutex;

/// The scope of an access token that may send messages.
pub const SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
pub const DEFAULT_ENDPOINT: &str = "https://fcm.googleapis.com";
pub const DEFAULT_TOKEN_URL: &str = "https://oauth2.googleapis.com/token";

/// How long one exchange with FCM or the token endpoint may take, connecting included.
const REQUEST_TIMEOUT: StdDuration = StdDuration::from_secs(15);
const CONNECT_TIMEOUT: StdDuration = StdDuration::from_secs(5);
/// An access token is renewed this long before it expires.
const TOKEN_MARGIN: Duration = Duration::minutes(5);
/// The lifetime asked for in the assertion (Google's maximum).
const ASSERTION_LIFETIME: Duration = Duration::hours(1);

/// Why a message was not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushError {
    /// Worth another attempt, after at least `after` when the service said so.
    Retry {
        message: String,
        after: Option<Duration>,
    },
    /// The device's token is not (or no longer) valid: forget the device.
    Unregistered(String),
    /// Refused for a reason another attempt will not change.
    Permanent(String),
}

impl PushError {
    pub fn message(&self) -> &str {
        match self {
            PushError::Retry { message, .. }
            | PushError::Unregistered(message)
            | PushError::Permanent(message) => message,
        }
    }
}

/// A message for one device.
#[derive(Debug, Clone)]
pub struct Push<'a> {
    pub token: &'a str,
    pub title: &'a str,
    pub body: &'a str,
    /// Strings only.
    pub data: &'a Map<String, Value>,
}

/// The token endpoint's grant.
#[derive(Deserialize)]
struct Granted {
    access_token: String,
    expires_in: i64,
}

/// The fields of a Google service-account key file that are used.
#[derive(Deserialize)]
struct ServiceAccount {
    client_email: String,
    private_key: String,
    project_id: Option<String>,
}

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// The FCM sender; cheap to share behind an `Arc`.
pub struct Fcm {
    endpoint: String,
    token_url: String,
    project_id: String,
    client_email: String,
    key: RsaKeyPair,
    client: HttpsClient,
    token: Mutex<Option<(String, DateTime<Utc>)>>,
}

impl fmt::Debug for Fcm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key and the access token stay out of every log.
        f.debug_struct("Fcm")
            .field("endpoint", &self.endpoint)
            .field("token_url", &self.token_url)
            .field("project_id", &self.project_id)
            .field("client_email", &self.client_email)
            .finish_non_exhaustive()
    }
}

impl Fcm {
    /// The sender the settings describe, or `None` when push is not configured
    /// (`PEKEN_PUSH_CREDENTIALS` unset). A key file that cannot be read or used is an error.
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Option<Arc<Fcm>>> {
        let Some(path) = settings.push_credentials.as_deref() else {
            return Ok(None);
        };
        Ok(Some(Arc::new(Fcm::from_key_file(
            path,
            settings.push_project_id.clone(),
            &settings.push_fcm_url,
            &settings.push_token_url,
        )?)))
    }

    /// A sender with the service account in the JSON key file at `path`. `project_id` overrides
    /// the file's.
    pub fn from_key_file(
        path: &Path,
        project_id: Option<String>,
        endpoint: &str,
        token_url: &str,
    ) -> anyhow::Result<Fcm> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the push service account {}", path.display()))?;
        let account: ServiceAccount = serde_json::from_str(&text)
            .context("PEKEN_PUSH_CREDENTIALS is not a service-account key file")?;
        let project_id = project_id
            .or(account.project_id)
            .filter(|p| !p.is_empty())
            .context("no project id: set PEKEN_PUSH_PROJECT_ID")?;
        Fcm::new(
            endpoint,
            token_url,
            &project_id,
            &account.client_email,
            &account.private_key,
        )
    }

    /// A sender with the given service account; `private_key_pem` is its PKCS#8 PEM key.
    pub fn new(
        endpoint: &str,
        token_url: &str,
        project_id: &str,
        client_email: &str,
        private_key_pem: &str,
    ) -> anyhow::Result<Fcm> {
        let der = pem_body(private_key_pem).context("the service account's key is not PEM")?;
        let key = RsaKeyPair::from_pkcs8(&der)
            .map_err(|e| anyhow::anyhow!("the service account's key is not an RSA key: {e}"))?;
        Ok(Fcm {
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            token_url: token_url.to_owned(),
            project_id: project_id.to_owned(),
            client_email: client_email.to_owned(),
            key,
            client: https_client()?,
            token: Mutex::new(None),
        })
    }

    /// The URL messages are posted to.
    pub fn send_url(&self) -> String {
        format!(
            "{}/v1/projects/{}/messages:send",
            self.endpoint, self.project_id
        )
    }

    /// The signed assertion the token endpoint exchanges for an access token.
    pub fn assertion(&self, now: DateTime<Utc>) -> anyhow::Result<String> {
        let header = json!({"alg": "RS256", "typ": "JWT"});
        let claims = json!({
            "iss": self.client_email,
            "scope": SCOPE,
            "aud": self.token_url,
            "iat": now.timestamp(),
            "exp": (now + ASSERTION_LIFETIME).timestamp(),
        });
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| anyhow::anyhow!("signing the assertion failed"))?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }

    /// A valid access token: the cached one, or a new one from the token endpoint.
    async fn access_token(&self, now: DateTime<Utc>) -> Result<String, PushError> {
        let mut cached = self.token.lock().await;
        if let Some((token, expires)) = cached.as_ref()
            && *expires - TOKEN_MARGIN > now
        {
            return Ok(token.clone());
        }
        let assertion = self.assertion(now).map_err(|e| PushError::Retry {
            message: format!("{e:#}"),
            after: None,
        })?;
        let form = format!(
            "grant_type={}&assertion={assertion}",
            "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"
        );
        let request = Request::builder()
            .method(Method::POST)
            .uri(&self.token_url)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Full::new(Bytes::from(form)))
            .map_err(|e| PushError::Permanent(format!("bad token endpoint: {e}")))?;
        let (status, _, body) = self.exchange(request).await?;
        if !status.is_success() {
            // A refused assertion (a revoked key, say) may be fixed by an operator: keep trying
            // with backoff rather than dropping everyone's messages.
            return Err(PushError::Retry {
                message: format!("the token endpoint answered {status}"),
                after: None,
            });
        }
        let granted: Granted = serde_json::from_slice(&body).map_err(|_| PushError::Retry {
            message: "the token endpoint's answer has no access token".into(),
            after: None,
        })?;
        let expires = now + Duration::seconds(granted.expires_in.clamp(0, 86_400));
        *cached = Some((granted.access_token.clone(), expires));
        Ok(granted.access_token)
    }

    /// Sends one message.
    pub async fn send(&self, push: &Push<'_>, now: DateTime<Utc>) -> Result<(), PushError> {
        let access = self.access_token(now).await?;
        let message = json!({
            "message": {
                "token": push.token,
                "notification": {"title": push.title, "body": push.body},
                "data": push.data,
                "android": {"priority": "high"},
            }
        });
        let request = Request::builder()
            .method(Method::POST)
            .uri(self.send_url())
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::AUTHORIZATION, format!("Bearer {access}"))
            .body(Full::new(Bytes::from(message.to_string())))
            .map_err(|e| PushError::Permanent(format!("bad FCM endpoint: {e}")))?;
        let (status, retry_after, body) = self.exchange(request).await?;
        if status.is_success() {
            return Ok(());
        }
        if status == StatusCode::UNAUTHORIZED {
            // The token was revoked or expired early: fetch a new one next time.
            *self.token.lock().await = None;
        }
        Err(classify(status, retry_after, &body))
    }

    /// One HTTP exchange: the status, the `Retry-After` wait and the body. Network failures and
    /// timeouts are worth a retry.
    async fn exchange(
        &self,
        request: Request<Full<Bytes>>,
    ) -> Result<(StatusCode, Option<Duration>, Bytes), PushError> {
        let exchange = async {
            let response = self.client.request(request).await.map_err(|e| {
                let message = if e.is_connect() {
                    "could not connect to the push service".to_owned()
                } else {
                    format!("the push service exchange failed: {e}")
                };
                PushError::Retry {
                    message,
                    after: None,
                }
            })?;
            let (parts, body) = response.into_parts();
            let retry_after = parts
                .headers
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<i64>().ok())
                .filter(|s| *s >= 0)
                .map(Duration::seconds);
            let body = body
                .collect()
                .await
                .map_err(|e| PushError::Retry {
                    message: format!("the push service's answer was cut: {e}"),
                    after: None,
                })?
                .to_bytes();
            Ok((parts.status, retry_after, body))
        };
        tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|_| PushError::Retry {
                message: "the push service did not answer in time".into(),
                after: None,
            })?
    }
}

/// What a refusal from FCM means for the message.
pub fn classify(status: StatusCode, retry_after: Option<Duration>, body: &[u8]) -> PushError {
    let error: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let error = &error["error"];
    let fcm_code = error["details"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|d| d["errorCode"].as_str())
        .unwrap_or_else(|| error["status"].as_str().unwrap_or(""))
        .to_owned();
    let detail = error["message"].as_str().unwrap_or("").to_owned();
    let message = format!("FCM answered {status} {fcm_code}: {detail}");
    let about_token = detail.to_ascii_lowercase().contains("registration token");
    match (status, fcm_code.as_str()) {
        (_, "UNREGISTERED" | "SENDER_ID_MISMATCH") | (StatusCode::NOT_FOUND, _) => {
            PushError::Unregistered(message)
        }
        (StatusCode::BAD_REQUEST, "INVALID_ARGUMENT") if about_token => {
            PushError::Unregistered(message)
        }
        (StatusCode::TOO_MANY_REQUESTS | StatusCode::UNAUTHORIZED, _) => PushError::Retry {
            message,
            after: retry_after,
        },
        (s, _) if s.is_server_error() => PushError::Retry {
            message,
            after: retry_after,
        },
        _ => PushError::Permanent(message),
    }
}

/// The DER bytes inside a PEM block.
fn pem_body(pem: &str) -> Option<Vec<u8>> {
    let body: String = pem
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("-----"))
        .collect();
    STANDARD.decode(body).ok().filter(|d| !d.is_empty())
}

/// hyper over rustls with ring, trusting the system's roots (the bundled Mozilla roots when the
/// system has none); plain HTTP is allowed for a local stand-in.
fn https_client() -> anyhow::Result<HttpsClient> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = match hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(provider.clone())
    {
        Ok(builder) => builder,
        Err(_) => hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(provider)
            .context("no TLS roots for the push service")?,
    };
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(CONNECT_TIMEOUT));
    let https = builder.https_or_http().enable_http1().wrap_connector(http);
    Ok(Client::builder(hyper_util::rt::TokioExecutor::new()).build(https))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fcm_answers_decide_the_message() {
        let unregistered = br#"{"error":{"code":404,"message":"Requested entity was not found.","status":"NOT_FOUND","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"UNREGISTERED"}]}}"#;
        assert!(matches!(
            classify(StatusCode::NOT_FOUND, None, unregistered),
            PushError::Unregistered(_)
        ));
        let bad_token = br#"{"error":{"code":400,"message":"The registration token is not a valid FCM registration token","status":"INVALID_ARGUMENT","details":[{"errorCode":"INVALID_ARGUMENT"}]}}"#;
        assert!(matches!(
            classify(StatusCode::BAD_REQUEST, None, bad_token),
            PushError::Unregistered(_)
        ));
        let bad_payload = br#"{"error":{"code":400,"message":"Invalid JSON payload received.","status":"INVALID_ARGUMENT"}}"#;
        assert!(matches!(
            classify(StatusCode::BAD_REQUEST, None, bad_payload),
            PushError::Permanent(_)
        ));
        assert_eq!(
            classify(
                StatusCode::TOO_MANY_REQUESTS,
                Some(Duration::seconds(120)),
                b""
            ),
            PushError::Retry {
                message: "FCM answered 429 Too Many Requests : ".into(),
                after: Some(Duration::seconds(120))
            }
        );
        assert!(matches!(
            classify(StatusCode::SERVICE_UNAVAILABLE, None, b"oops"),
            PushError::Retry { after: None, .. }
        ));
        assert!(matches!(
            classify(StatusCode::FORBIDDEN, None, b"{}"),
            PushError::Permanent(_)
        ));
    }

    #[test]
    fn pem_bodies_are_decoded() {
        let pem = "-----BEGIN PRIVATE KEY-----\nAAEC\nAwQ=\n-----END PRIVATE KEY-----\n";
        assert_eq!(pem_body(pem), Some(vec![0, 1, 2, 3, 4]));
        assert_eq!(pem_body("-----BEGIN X-----\n-----END X-----"), None);
    }
}
