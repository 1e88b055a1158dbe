//! Product and profile photos: reading an uploaded file from a multipart request
//! ([`read_file_part`]), checking and re-encoding it ([`process`]: JPEG, PNG or WebP in, JPEG
//! renditions 160, 480 and 1080 px wide out, without metadata), keeping the renditions in the
//! media store under content-addressed keys ([`store_image`]), and serving them
//! (`GET /media/{key}`, [`configure`]).
//!
//! Decoding runs on the blocking pool under one process-wide budget of megapixels in flight
//! ([`BUDGET_MEGAPIXELS`]), so a burst of uploads queues instead of exhausting memory.
//!
//! Error codes, stable for clients:
//!
//! | status | code | when |
//! |---|---|---|
//! | 400 | `malformed_multipart` | the multipart body cannot be read |
//! | 400 | `invalid_media_key` | a `/media/` key with `..`, an empty segment or odd characters |
//! | 404 | `media_not_found` | no object under a `/media/` key |
//! | 413 | `payload_too_large` | the file passes the operation's limit |
//! | 415 | `unsupported_media_type` | the body is not `multipart/form-data` |
//! | 415 | `not_an_image` | the file's bytes are not a JPEG, PNG or WebP image |
//! | 422 | `file_missing` | no part named `file` |
//! | 422 | `image_type_mismatch` | the part's declared type differs from what its bytes are |
//! | 422 | `image_too_many_pixels` | more than 40 megapixels (checked before decoding) |
//! | 422 | `image_corrupt` | a truncated or corrupt image |
//! | 503 | `media_unavailable` | the media store failed; nothing was stored |

mod error;
mod http;
mod process;
mod store;
mod upload;

#[cfg(test)]
mod tests;

pub use error::MediaError;
pub use http::configure;
pub use process::{
    ImageKind, JPEG_QUALITY, MAX_PIXELS, Probe, ProcessedImage, WIDTHS, inspect, process, sniff,
};
pub use store::{
    BUDGET_MEGAPIXELS, Rendition, StoredImage, delete_keys, delete_keys_in, store_image,
    store_image_in,
};
pub use upload::{MAX_IMAGE_BYTES, MULTIPART_ALLOWANCE, Upload, read_file_part};
