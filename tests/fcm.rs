//! A stand-in for Firebase Cloud Messaging (HTTP v1) and Google's OAuth token endpoint, started
//! in-process on a free port: a bare HTTP/1.1 server, one request per connection.
//!
//! `POST /token` checks the grant type and the RS256 signature and claims of the assertion
//! against the test service account's public key, and grants an access token. `POST
//! /v1/projects/{project}/messages:send` checks the bearer token is one it granted and the
//! message's shape (`message.token`, `notification.title` and `.body`, `data` of strings only),
//! then answers what the test scripted (200 by default; a token marked unregistered gets 404
//! `UNREGISTERED`) and records every message it accepted.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The project of the test service account.
pub const PROJECT: &str = "peken-test";
pub const CLIENT_EMAIL: &str = "push@peken-test.iam.gserviceaccount.com";

/// The test service account's key file (a key made for these tests only).
pub fn service_account_path() -> String {
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/push-test-service-account.json"
    )
    .to_owned()
}

const PUBLIC_KEY: &[u8] = include_bytes!("data/push-test-key.pub.der");

/// A scripted answer to the next message.
#[derive(Debug, Clone)]
pub enum Answer {
    /// A status with an optional `Retry-After` (seconds) and an FCM error code in the body.
    Status {
        status: u16,
        retry_after: Option<u64>,
        error_code: &'static str,
    },
}

/// A message the stand-in accepted (answered 200).
#[derive(Debug, Clone)]
pub struct Accepted {
    pub message: Value,
}

#[derive(Default)]
struct Inner {
    script: VecDeque<Answer>,
    unregistered: HashSet<String>,
    granted: Vec<String>,
    accepted: Vec<Accepted>,
    /// Requests refused for their shape or their credentials: a test expects none.
    malformed: Vec<String>,
    /// Message requests received, whatever the answer.
    attempts: usize,
}

pub struct FcmServer {
    port: u16,
    inner: Arc<Mutex<Inner>>,
}

fn lock(m: &Mutex<Inner>) -> std::sync::MutexGuard<'_, Inner> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl FcmServer {
    pub async fn start() -> FcmServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let inner = Arc::new(Mutex::new(Inner::default()));
        let shared = inner.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let shared = shared.clone();
                tokio::spawn(async move {
                    let _ = serve(stream, port, &shared).await;
                });
            }
        });
        FcmServer { port, inner }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn token_url(&self) -> String {
        format!("{}/token", self.url())
    }

    /// The `PEKEN_PUSH_*` settings that point the server here.
    pub fn vars(&self) -> Vec<(String, String)> {
        vec![
            ("PEKEN_PUSH_CREDENTIALS".into(), service_account_path()),
            ("PEKEN_PUSH_FCM_URL".into(), self.url()),
            ("PEKEN_PUSH_TOKEN_URL".into(), self.token_url()),
        ]
    }

    /// Answers the next message requests with these, in order, then 200 again.
    pub fn script(&self, answers: impl IntoIterator<Item = Answer>) {
        lock(&self.inner).script.extend(answers);
    }

    /// Answers messages to this token 404 `UNREGISTERED`.
    pub fn unregister(&self, token: &str) {
        lock(&self.inner).unregistered.insert(token.to_owned());
    }

    pub fn accepted(&self) -> Vec<Accepted> {
        lock(&self.inner).accepted.clone()
    }

    pub fn attempts(&self) -> usize {
        lock(&self.inner).attempts
    }

    pub fn tokens_granted(&self) -> usize {
        lock(&self.inner).granted.len()
    }

    pub fn malformed(&self) -> Vec<String> {
        lock(&self.inner).malformed.clone()
    }
}

async fn serve(mut stream: TcpStream, port: u16, inner: &Mutex<Inner>) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0_u8; 4096];
    let header_end = loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_string();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default().to_owned();
    let mut length = 0;
    let mut authorization = None;
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse().unwrap_or(0),
                "authorization" => authorization = Some(value.trim().to_owned()),
                _ => {}
            }
        }
    }
    while buf.len() < header_end + length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = &buf[header_end..];
    let (status, extra, reply) = answer(&request_line, authorization.as_deref(), body, port, inner);
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        429 => "Too Many Requests",
        _ => "Error",
    };
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n{reply}",
        reply.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

fn error_body(status: u16, code: &str, message: &str) -> String {
    json!({"error": {
        "code": status, "message": message, "status": code,
        "details": [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": code}],
    }})
    .to_string()
}

fn answer(
    request_line: &str,
    authorization: Option<&str>,
    body: &[u8],
    port: u16,
    inner: &Mutex<Inner>,
) -> (u16, String, String) {
    let mut inner = lock(inner);
    if request_line.starts_with("POST /token ") {
        return match check_assertion(body, port) {
            Ok(()) => {
                let token = format!("ya29.test-{}", inner.granted.len() + 1);
                inner.granted.push(token.clone());
                (
                    200,
                    String::new(),
                    json!({"access_token": token, "expires_in": 3599, "token_type": "Bearer"})
                        .to_string(),
                )
            }
            Err(why) => {
                inner.malformed.push(format!("token request: {why}"));
                (
                    400,
                    String::new(),
                    json!({"error": "invalid_grant"}).to_string(),
                )
            }
        };
    }
    if !request_line.starts_with(&format!("POST /v1/projects/{PROJECT}/messages:send ")) {
        inner
            .malformed
            .push(format!("unexpected request: {request_line}"));
        return (404, String::new(), "{}".into());
    }
    inner.attempts += 1;
    let bearer = authorization.and_then(|a| a.strip_prefix("Bearer "));
    if !bearer.is_some_and(|b| inner.granted.iter().any(|g| g == b)) {
        inner
            .malformed
            .push("a message without a granted bearer token".into());
        return (
            401,
            String::new(),
            error_body(401, "UNAUTHENTICATED", "bad token"),
        );
    }
    let message: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    if let Err(why) = check_shape(&message) {
        inner.malformed.push(why.clone());
        return (
            400,
            String::new(),
            error_body(400, "INVALID_ARGUMENT", &why),
        );
    }
    let token = message["message"]["token"].as_str().unwrap_or_default();
    if inner.unregistered.contains(token) {
        return (
            404,
            String::new(),
            error_body(404, "UNREGISTERED", "Requested entity was not found."),
        );
    }
    if let Some(Answer::Status {
        status,
        retry_after,
        error_code,
    }) = inner.script.pop_front()
    {
        let extra = retry_after.map_or_else(String::new, |s| format!("Retry-After: {s}\r\n"));
        return (status, extra, error_body(status, error_code, "scripted"));
    }
    let n = inner.accepted.len() + 1;
    inner.accepted.push(Accepted { message });
    (
        200,
        String::new(),
        json!({"name": format!("projects/{PROJECT}/messages/{n}")}).to_string(),
    )
}

fn check_shape(message: &Value) -> Result<(), String> {
    let m = &message["message"];
    if m["token"].as_str().is_none_or(str::is_empty) {
        return Err("message.token missing".into());
    }
    for field in ["title", "body"] {
        if m["notification"][field].as_str().is_none_or(str::is_empty) {
            return Err(format!("message.notification.{field} missing"));
        }
    }
    let data = m["data"].as_object().ok_or("message.data missing")?;
    if let Some((k, _)) = data.iter().find(|(_, v)| !v.is_string()) {
        return Err(format!("message.data.{k} is not a string"));
    }
    Ok(())
}

fn check_assertion(body: &[u8], port: u16) -> Result<(), String> {
    let form = String::from_utf8_lossy(body);
    let mut grant = None;
    let mut assertion = None;
    for pair in form.split('&') {
        match pair.split_once('=') {
            Some(("grant_type", v)) => grant = Some(v.to_owned()),
            Some(("assertion", v)) => assertion = Some(v.to_owned()),
            _ => {}
        }
    }
    if grant.as_deref() != Some("urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer") {
        return Err(format!("grant_type {grant:?}"));
    }
    let assertion = assertion.ok_or("no assertion")?;
    let parts: Vec<&str> = assertion.split('.').collect();
    let [header, claims, signature] = parts[..] else {
        return Err("the assertion is not a JWT".into());
    };
    let decode = |s: &str| URL_SAFE_NO_PAD.decode(s).map_err(|e| e.to_string());
    let key = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, PUBLIC_KEY);
    key.verify(format!("{header}.{claims}").as_bytes(), &decode(signature)?)
        .map_err(|_| "the assertion's signature does not verify".to_owned())?;
    let header: Value = serde_json::from_slice(&decode(header)?).map_err(|e| e.to_string())?;
    let claims: Value = serde_json::from_slice(&decode(claims)?).map_err(|e| e.to_string())?;
    if header["alg"] != "RS256" {
        return Err("not RS256".into());
    }
    let expected_aud = format!("http://127.0.0.1:{port}/token");
    if claims["iss"] != CLIENT_EMAIL
        || claims["aud"] != expected_aud.as_str()
        || claims["scope"] != "https://www.googleapis.com/auth/firebase.messaging"
    {
        return Err(format!("claims {claims}"));
    }
    let (iat, exp) = (claims["iat"].as_i64(), claims["exp"].as_i64());
    if !matches!((iat, exp), (Some(i), Some(e)) if e - i == 3600) {
        return Err("iat/exp".into());
    }
    Ok(())
}
