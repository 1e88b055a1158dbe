//! Reading one uploaded file from a `multipart/form-data` request. The request guard passes
//! multipart bodies through unread and the global payload limit does not apply to a streamed
//! body, so the limit is enforced here: by `Content-Length` before anything is read, and
//! again while the part streams in.

use actix_multipart::{Multipart, MultipartError};
use actix_web::HttpRequest;
use actix_web::http::StatusCode;
use actix_web::http::header::CONTENT_LENGTH;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt as _;
use peken_kernel::{ApiError, ApiResult};

/// The largest product or profile photo accepted.
pub const MAX_IMAGE_BYTES: usize = 5 * 1024 * 1024;

/// What a request may carry besides the file: boundaries, part headers and small form fields.
pub const MULTIPART_ALLOWANCE: usize = 16 * 1024;

/// The part named `file` of a multipart request.
#[derive(Debug, Clone)]
pub struct Upload {
    pub bytes: Bytes,
    /// The part's declared type (its essence, e.g. `image/jpeg`), if it declared one.
    pub content_type: Option<String>,
    /// The part's file name, if it gave one; never used to decide anything.
    pub file_name: Option<String>,
}

/// Reads the part named `file` of at most `max_bytes`. 413 `payload_too_large` when
/// `Content-Length` is over the limit (plus [`MULTIPART_ALLOWANCE`], without reading the body)
/// or once the part passes it; 422 `file_missing` without such a part; 415
/// `unsupported_media_type` for a body that is not multipart; 400 `malformed_multipart` for
/// one that cannot be read. Parts before the file may hold at most [`MULTIPART_ALLOWANCE`]
/// bytes together; parts after it are not read.
pub async fn read_file_part(
    req: &HttpRequest,
    mut payload: Multipart,
    max_bytes: usize,
) -> ApiResult<Upload> {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let limit = max_bytes.saturating_add(MULTIPART_ALLOWANCE) as u64;
    if declared.is_some_and(|length| length > limit) {
        return Err(too_large(max_bytes));
    }
    let mut other_bytes = 0_usize;
    while let Some(field) = payload.next().await {
        let mut field = field.map_err(multipart_error)?;
        if field.name() == Some("file") {
            let content_type = field.content_type().map(|m| m.essence_str().to_owned());
            let file_name = field
                .content_disposition()
                .and_then(|d| d.get_filename())
                .map(str::to_owned);
            let mut bytes = BytesMut::new();
            while let Some(chunk) = field.next().await {
                let chunk = chunk.map_err(multipart_error)?;
                if bytes.len() + chunk.len() > max_bytes {
                    return Err(too_large(max_bytes));
                }
                bytes.extend_from_slice(&chunk);
            }
            return Ok(Upload {
                bytes: bytes.freeze(),
                content_type,
                file_name,
            });
        }
        while let Some(chunk) = field.next().await {
            other_bytes += chunk.map_err(multipart_error)?.len();
            if other_bytes > MULTIPART_ALLOWANCE {
                return Err(too_large(max_bytes));
            }
        }
    }
    Err(ApiError::unprocessable(
        "file_missing",
        "the request has no part named `file`",
    ))
}

fn too_large(max_bytes: usize) -> ApiError {
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
        .with_detail(format!("the file may have at most {max_bytes} bytes"))
        .with_context(serde_json::json!({"max_bytes": max_bytes}))
}

fn multipart_error(err: MultipartError) -> ApiError {
    match err {
        MultipartError::ContentTypeMissing
        | MultipartError::ContentTypeParse
        | MultipartError::ContentTypeIncompatible => {
            ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
                .with_detail("expected Content-Type: multipart/form-data with a boundary")
        }
        other => ApiError::bad_request(
            "malformed_multipart",
            format!("the multipart body cannot be read: {other}"),
        ),
    }
}
