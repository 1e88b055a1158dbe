//! Where uploaded media (product photos, profile photos) are kept: an [`ObjectStore`], a folder
//! in the data directory by default or an S3-compatible bucket (`PEKEN_MEDIA_URL`). Keys are
//! relative paths such as `img/ab/ab12….jpg`; what goes in them is decided by `peken_media`.
//!
//! The S3 client talks HTTP through hyper with rustls on ring (as the rest of the stack), with
//! its own timeouts and few retries: an upload waits on it, so a bucket that does not answer
//! must fail the request in seconds, not minutes.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use http_body_util::BodyExt as _;
use object_store::aws::AmazonS3Builder;
use object_store::client::{
    ClientOptions, HttpClient, HttpConnector, HttpError, HttpErrorKind, HttpRequest,
    HttpRequestBody, HttpResponse, HttpResponseBody, HttpService,
};
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::prefix::PrefixStore;
use object_store::{BackoffConfig, ObjectStore, ObjectStoreExt as _, PutPayload, RetryConfig};

use crate::settings::{MediaStorage, S3Settings, Settings};

/// The longest key the store accepts.
pub const MAX_KEY_LEN: usize = 512;

/// How long one request to the bucket may take, connecting included.
const S3_REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
const S3_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The media store every handler shares; cheap to clone.
#[derive(Clone)]
pub struct MediaStore {
    store: Arc<dyn ObjectStore>,
    public_url: Option<Arc<str>>,
}

/// What the store knows of one object besides its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub size: u64,
    pub last_modified: DateTime<Utc>,
}

impl fmt::Debug for MediaStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The store's own `Display` names the bucket or folder, never a credential.
        write!(f, "MediaStore({})", self.store)
    }
}

impl MediaStore {
    /// The store the settings name: the folder `media/` in the data directory, or the bucket of
    /// `PEKEN_MEDIA_URL`.
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        let public_url = settings.media.public_url.clone();
        match &settings.media.storage {
            MediaStorage::Local => Self::local(&settings.data_dir.join("media"), public_url),
            MediaStorage::S3(s3) => Self::s3(s3, public_url),
        }
    }

    /// Files under `dir`, created when missing.
    pub fn local(dir: &Path, public_url: Option<String>) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the media folder {}", dir.display()))?;
        let store = LocalFileSystem::new_with_prefix(dir)
            .with_context(|| format!("opening the media folder {}", dir.display()))?
            // Removing the last file of a folder removes the folder, so deleted photos leave
            // no empty directories behind.
            .with_automatic_cleanup(true);
        Ok(Self::with_store(Arc::new(store), public_url))
    }

    /// An S3-compatible bucket. Nothing is sent until the first request.
    pub fn s3(s3: &S3Settings, public_url: Option<String>) -> anyhow::Result<Self> {
        let retry = RetryConfig {
            max_retries: 2,
            retry_timeout: Duration::from_secs(10),
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_secs(1),
                base: 2.0,
            },
        };
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&s3.bucket)
            .with_region(&s3.region)
            .with_http_connector(HyperConnector)
            .with_retry(retry);
        if let Some(endpoint) = &s3.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        if let (Some(id), Some(secret)) = (&s3.access_key_id, &s3.secret_access_key) {
            builder = builder
                .with_access_key_id(id)
                .with_secret_access_key(secret.expose());
        }
        let bucket = builder
            .build()
            .with_context(|| format!("configuring the S3 bucket {}", s3.bucket))?;
        let store: Arc<dyn ObjectStore> = match &s3.prefix {
            Some(prefix) => Arc::new(PrefixStore::new(bucket, prefix.as_str())),
            None => Arc::new(bucket),
        };
        Ok(Self::with_store(store, public_url))
    }

    /// Any object store (tests use `object_store::memory::InMemory`).
    pub fn with_store(store: Arc<dyn ObjectStore>, public_url: Option<String>) -> Self {
        Self {
            store,
            public_url: public_url.map(|url| Arc::from(url.trim_end_matches('/'))),
        }
    }

    /// Stores `bytes` under `key`, replacing what was there. The object appears whole or not
    /// at all (a file is written aside and renamed; S3 puts are atomic).
    pub async fn put(&self, key: &str, bytes: Bytes) -> anyhow::Result<()> {
        let path = object_path(key)?;
        self.store
            .put(&path, PutPayload::from_bytes(bytes))
            .await
            .with_context(|| format!("storing media {key}"))?;
        Ok(())
    }

    /// The object's bytes and facts, `None` when there is none.
    pub async fn get(&self, key: &str) -> anyhow::Result<Option<(Bytes, ObjectInfo)>> {
        let path = object_path(key)?;
        match self.store.get(&path).await {
            Ok(result) => {
                let info = info(&result.meta);
                let bytes = result
                    .bytes()
                    .await
                    .with_context(|| format!("reading media {key}"))?;
                Ok(Some((bytes, info)))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading media {key}")),
        }
    }

    /// The object's facts without its bytes, `None` when there is none.
    pub async fn head(&self, key: &str) -> anyhow::Result<Option<ObjectInfo>> {
        let path = object_path(key)?;
        match self.store.head(&path).await {
            Ok(meta) => Ok(Some(info(&meta))),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e).with_context(|| format!("looking up media {key}")),
        }
    }

    /// Removes the object; one that is already gone is fine.
    pub async fn delete(&self, key: &str) -> anyhow::Result<()> {
        let path = object_path(key)?;
        match self.store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e).with_context(|| format!("deleting media {key}")),
        }
    }

    /// The address a client fetches `key` from: `{PEKEN_MEDIA_PUBLIC_URL}/{key}` when set, else
    /// this server's `/media/{key}`.
    pub fn url(&self, key: &str) -> String {
        match &self.public_url {
            Some(base) => format!("{base}/{key}"),
            None => format!("/media/{key}"),
        }
    }
}

/// Whether `key` is a key this store hands out: relative, segments of ASCII letters, digits,
/// `.`, `_` and `-`, none of them empty, `.` or `..`.
pub fn is_valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= MAX_KEY_LEN
        && key.split('/').all(|segment| {
            !segment.is_empty()
                && segment != "."
                && segment != ".."
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        })
}

fn object_path(key: &str) -> anyhow::Result<ObjectPath> {
    anyhow::ensure!(is_valid_key(key), "not a media key: {key:?}");
    ObjectPath::parse(key).with_context(|| format!("not a media key: {key:?}"))
}

fn info(meta: &object_store::ObjectMeta) -> ObjectInfo {
    ObjectInfo {
        size: meta.size,
        last_modified: meta.last_modified,
    }
}

/// Makes the S3 client's HTTP connections: hyper over rustls with the ring provider, the
/// system's trusted roots (the bundled Mozilla roots when the system has none).
#[derive(Debug)]
struct HyperConnector;

impl HttpConnector for HyperConnector {
    fn connect(&self, _options: &ClientOptions) -> object_store::Result<HttpClient> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = hyper_rustls::HttpsConnectorBuilder::new();
        let builder = match builder.with_provider_and_native_roots(provider.clone()) {
            Ok(builder) => builder,
            Err(_) => hyper_rustls::HttpsConnectorBuilder::new()
                .with_provider_and_webpki_roots(provider)
                .map_err(|e| object_store::Error::Generic {
                    store: "S3",
                    source: Box::new(e),
                })?,
        };
        let mut http = hyper_util::client::legacy::connect::HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(S3_CONNECT_TIMEOUT));
        let https = builder.https_or_http().enable_http1().wrap_connector(http);
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build::<_, HttpRequestBody>(https);
        Ok(HttpClient::new(HyperService { client }))
    }
}

#[derive(Debug)]
struct HyperService {
    client: hyper_util::client::legacy::Client<
        hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
        HttpRequestBody,
    >,
}

#[async_trait::async_trait]
impl HttpService for HyperService {
    async fn call(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let exchange = async {
            let response = self.client.request(request).await.map_err(|e| {
                let kind = if e.is_connect() {
                    HttpErrorKind::Connect
                } else {
                    HttpErrorKind::Request
                };
                HttpError::new(kind, e)
            })?;
            let (parts, body) = response.into_parts();
            // Media objects are small (a photo's rendition); the whole body is read here, so
            // the timeout below covers it too.
            let bytes = body
                .collect()
                .await
                .map_err(|e| HttpError::new(HttpErrorKind::Interrupted, e))?
                .to_bytes();
            Ok(HttpResponse::from_parts(
                parts,
                HttpResponseBody::from(bytes),
            ))
        };
        tokio::time::timeout(S3_REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|e| HttpError::new(HttpErrorKind::Timeout, e))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_relative_paths_of_plain_segments() {
        for good in ["img/ab/ab12.jpg", "a", "merchant-1/photo_2.webp"] {
            assert!(is_valid_key(good), "{good}");
        }
        for bad in [
            "",
            "/img/a.jpg",
            "img//a.jpg",
            "img/../a.jpg",
            "..",
            "img/./a.jpg",
            "img/a.jpg/",
            "img/a b.jpg",
            "img\\a.jpg",
            "img/%2e%2e/a",
        ] {
            assert!(!is_valid_key(bad), "{bad}");
        }
        assert!(!is_valid_key(&"a".repeat(MAX_KEY_LEN + 1)));
    }

    #[tokio::test]
    async fn a_local_store_keeps_gets_and_forgets() {
        let dir = std::env::temp_dir().join(format!("peken-media-{}", uuid::Uuid::new_v4()));
        let store = MediaStore::local(&dir, None).expect("a folder");
        store
            .put("img/ab/x.jpg", Bytes::from_static(b"jpeg"))
            .await
            .expect("put");
        let (bytes, info) = store
            .get("img/ab/x.jpg")
            .await
            .expect("get")
            .expect("there");
        assert_eq!((&bytes[..], info.size), (&b"jpeg"[..], 4));
        assert!(dir.join("img/ab/x.jpg").exists());
        store.delete("img/ab/x.jpg").await.expect("delete");
        store
            .delete("img/ab/x.jpg")
            .await
            .expect("deleting twice is fine");
        assert!(store.get("img/ab/x.jpg").await.expect("get").is_none());
        assert!(store.head("img/ab/x.jpg").await.expect("head").is_none());
        assert!(store.put("../x", Bytes::new()).await.is_err());
        assert_eq!(store.url("img/a.jpg"), "/media/img/a.jpg");
        let cdn = MediaStore::local(&dir, Some("https://cdn.example/m/".into())).expect("dir");
        assert_eq!(cdn.url("img/a.jpg"), "https://cdn.example/m/img/a.jpg");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
