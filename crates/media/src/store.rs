//! Keeping an upload's renditions: processed on the blocking pool under the megapixel budget,
//! then put into the media store all together or not at all.

use bytes::Bytes;
use peken_kernel::media::MediaStore;
use peken_kernel::{ApiError, ApiResult, AppState};
use serde::Serialize;
use tokio::sync::Semaphore;
use utoipa::ToSchema;

use crate::process::{ProcessedImage, inspect, process};
use crate::upload::Upload;

/// Megapixels being decoded at once in this process, all uploads together. A 12-megapixel
/// photo takes about 36 MB decoded and as much again while it is resized, so 64 MP in flight
/// stays within a few hundred MB however many uploads arrive; the rest wait their turn.
pub const BUDGET_MEGAPIXELS: u32 = 64;

static BUDGET: Semaphore = Semaphore::const_new(BUDGET_MEGAPIXELS as usize);

/// One stored size of an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Rendition {
    pub width: u32,
    pub height: u32,
    /// The key in the media store: `img/{2 hex}/{sha256 of the bytes}.jpg`. Identical input
    /// gives identical keys.
    pub key: String,
    /// The size of the JPEG in bytes.
    pub bytes: u64,
}

/// An image as stored: its upright size and its renditions, smallest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct StoredImage {
    pub width: u32,
    pub height: u32,
    pub renditions: Vec<Rendition>,
}

impl StoredImage {
    /// Every key of the image, for [`delete_keys`] when it is replaced or removed.
    pub fn keys(&self) -> Vec<String> {
        self.renditions.iter().map(|r| r.key.clone()).collect()
    }
}

/// Checks, re-encodes and stores an uploaded photo in the state's media store. Every rendition
/// is stored when this returns `Ok`; when the store fails, what this call wrote is deleted
/// again and the answer is 503 `media_unavailable`. The error codes are listed in the crate
/// documentation.
pub async fn store_image(state: &AppState, upload: Upload) -> ApiResult<StoredImage> {
    store_image_in(&state.media, upload).await
}

/// [`store_image`] into any media store.
pub async fn store_image_in(store: &MediaStore, upload: Upload) -> ApiResult<StoredImage> {
    let processed = process_within_budget(upload).await?;
    put_all(store, &processed).await?;
    Ok(StoredImage {
        width: processed.width,
        height: processed.height,
        renditions: processed.renditions.into_iter().map(|(r, _)| r).collect(),
    })
}

/// Deletes the keys of a replaced or removed image. Failures are logged, never returned: the
/// caller's change stands, and an object left behind costs only space.
///
/// Keys are content-addressed, so the same photo uploaded twice has the same keys; a caller
/// that lets two records share an image deletes its keys only when the last one goes.
pub async fn delete_keys(state: &AppState, keys: &[String]) {
    delete_keys_in(&state.media, keys).await;
}

/// [`delete_keys`] in any media store.
pub async fn delete_keys_in(store: &MediaStore, keys: &[String]) {
    for key in keys {
        if let Err(e) = store.delete(key).await {
            tracing::warn!(key = %key, error = format!("{e:#}"), "media not deleted");
        }
    }
}

/// Reads the header on the async worker (cheap), then decodes and encodes on the blocking pool
/// once the image's megapixels fit in the budget.
async fn process_within_budget(upload: Upload) -> ApiResult<ProcessedImage> {
    let probe = inspect(&upload.bytes, upload.content_type.as_deref())?;
    let weight = probe.megapixels().clamp(1, BUDGET_MEGAPIXELS);
    let permits = BUDGET
        .acquire_many(weight)
        .await
        .map_err(|e| ApiError::internal(anyhow::anyhow!("the media budget is closed: {e}")))?;
    let processed = tokio::task::spawn_blocking(move || {
        let _permits = permits;
        process(&upload.bytes, upload.content_type.as_deref())
    })
    .await
    .map_err(|e| ApiError::internal(anyhow::anyhow!("image processing stopped: {e}")))??;
    Ok(processed)
}

/// Puts every rendition; an object already there (the same photo stored before) is left as it
/// is and not counted as this call's. On a failure, deletes what this call wrote.
async fn put_all(store: &MediaStore, processed: &ProcessedImage) -> ApiResult<()> {
    let mut written: Vec<String> = Vec::new();
    for (rendition, bytes) in &processed.renditions {
        if let Err(e) = put_new(store, &rendition.key, bytes.clone(), &mut written).await {
            tracing::error!(
                key = %rendition.key,
                store = ?store,
                error = format!("{e:#}"),
                "storing an image failed; removing its renditions"
            );
            delete_keys_in(store, &written).await;
            return Err(ApiError::unavailable("media_unavailable")
                .with_detail("the photo store is unavailable; nothing was stored"));
        }
    }
    Ok(())
}

async fn put_new(
    store: &MediaStore,
    key: &str,
    bytes: Bytes,
    written: &mut Vec<String>,
) -> anyhow::Result<()> {
    if store.head(key).await?.is_some() {
        return Ok(());
    }
    store.put(key, bytes).await?;
    written.push(key.to_owned());
    Ok(())
}

/// Megapixels of the budget not in use, for tests that check it is given back.
#[cfg(test)]
pub(crate) fn available_megapixels() -> usize {
    BUDGET.available_permits()
}
