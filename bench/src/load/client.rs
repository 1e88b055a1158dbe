//! The HTTP side: one connection pool shared by every simulated client, login, and small
//! helpers that time a request and read the problem code of a refusal.

use std::time::{Duration, Instant};

use anyhow::Context;
use reqwest::{Method, StatusCode};
use serde::Deserialize;

#[derive(Clone)]
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
}

/// An answer: status, body and how long it took.
pub struct Answer {
    pub status: StatusCode,
    pub body: Vec<u8>,
    pub elapsed: Duration,
}

#[derive(Deserialize)]
struct Problem {
    code: Option<String>,
}

impl Answer {
    /// `ok`, the problem's `code`, or `http_<status>`.
    pub fn outcome(&self) -> String {
        if self.status.is_success() {
            return "ok".into();
        }
        serde_json::from_slice::<Problem>(&self.body)
            .ok()
            .and_then(|p| p.code)
            .unwrap_or_else(|| format!("http_{}", self.status.as_u16()))
    }

    pub fn json<T: serde::de::DeserializeOwned>(&self) -> anyhow::Result<T> {
        serde_json::from_slice(&self.body).with_context(|| {
            format!(
                "unexpected answer {}: {}",
                self.status,
                String::from_utf8_lossy(&self.body[..self.body.len().min(300)])
            )
        })
    }
}

impl Api {
    pub fn new(base: &str, clients: usize) -> anyhow::Result<Api> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(clients * 2)
            .tcp_nodelay(true)
            .timeout(Duration::from_secs(120))
            .build()?;
        Ok(Api {
            http,
            base: base.trim_end_matches('/').to_owned(),
        })
    }

    /// Sends a request and reads the whole answer, timing both.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<(&str, Vec<u8>)>,
    ) -> anyhow::Result<Answer> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some((content_type, bytes)) = body {
            request = request.header("content-type", content_type).body(bytes);
        }
        let started = Instant::now();
        let response = request.send().await?;
        let status = response.status();
        let body = response.bytes().await?.to_vec();
        Ok(Answer {
            status,
            body,
            elapsed: started.elapsed(),
        })
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> anyhow::Result<Answer> {
        self.send(Method::GET, path, token, &[], None).await
    }

    pub async fn post_json(
        &self,
        path: &str,
        token: Option<&str>,
        body: &serde_json::Value,
    ) -> anyhow::Result<Answer> {
        self.send(
            Method::POST,
            path,
            token,
            &[],
            Some(("application/json", serde_json::to_vec(body)?)),
        )
        .await
    }

    /// Logs in, waiting out the rate limit if the server applies one.
    pub async fn login(&self, login: &str, password: &str) -> anyhow::Result<String> {
        #[derive(Deserialize)]
        struct Session {
            access_token: String,
        }
        let body = serde_json::json!({ "login": login, "password": password });
        for _ in 0..30 {
            let answer = self.post_json("/api/v1/auth/login", None, &body).await?;
            if answer.status == StatusCode::TOO_MANY_REQUESTS {
                // Raise PEKEN_LOGIN_IP_PER_MINUTE on the server to avoid waiting here.
                tokio::time::sleep(Duration::from_secs(2)).await;
                continue;
            }
            anyhow::ensure!(
                answer.status.is_success(),
                "login as {login} failed: {} {}",
                answer.status,
                String::from_utf8_lossy(&answer.body)
            );
            return Ok(answer.json::<Session>()?.access_token);
        }
        anyhow::bail!("login as {login} kept being rate limited")
    }

    /// Logs many accounts in, a few at a time (each login costs the server a password hash).
    pub async fn login_all(
        &self,
        logins: &[String],
        password: &str,
    ) -> anyhow::Result<Vec<String>> {
        let mut tokens = Vec::with_capacity(logins.len());
        for chunk in logins.chunks(8) {
            let batch = chunk.iter().map(|l| self.login(l, password));
            for token in futures_util::future::join_all(batch).await {
                tokens.push(token?);
            }
        }
        Ok(tokens)
    }
}
