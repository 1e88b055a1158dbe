//! Why an uploaded file is not accepted as a photo.

use actix_web::http::StatusCode;
use peken_kernel::ApiError;
use serde_json::json;

use crate::process::MAX_PIXELS;

/// What is wrong with an uploaded image; each maps to one stable problem code.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// The bytes are not a JPEG, PNG or WebP image, whatever the file is called.
    #[error("the file is not a JPEG, PNG or WebP image")]
    NotAnImage,
    /// The part says one image type and its bytes are another.
    #[error("the file was sent as {declared} but is {actual}")]
    TypeMismatch {
        declared: String,
        actual: &'static str,
    },
    /// More pixels than [`MAX_PIXELS`], found in the header, before anything is decoded.
    #[error("the image has {width} × {height} pixels; at most {MAX_PIXELS} are accepted")]
    TooManyPixels { width: u32, height: u32 },
    /// The header or the pixel data cannot be read: a truncated or damaged file.
    #[error("the image is truncated or corrupt: {0}")]
    Corrupt(String),
    /// Encoding or resizing failed where the input was fine: a bug, answered 500.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl MediaError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotAnImage => "not_an_image",
            Self::TypeMismatch { .. } => "image_type_mismatch",
            Self::TooManyPixels { .. } => "image_too_many_pixels",
            Self::Corrupt(_) => "image_corrupt",
            Self::Internal(_) => "internal_error",
        }
    }
}

impl From<MediaError> for ApiError {
    fn from(err: MediaError) -> Self {
        let detail = err.to_string();
        match err {
            MediaError::NotAnImage => {
                ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "not_an_image")
                    .with_detail(detail)
            }
            MediaError::TypeMismatch { declared, actual } => {
                ApiError::unprocessable("image_type_mismatch", detail)
                    .with_context(json!({"declared": declared, "actual": actual}))
            }
            MediaError::TooManyPixels { width, height } => {
                ApiError::unprocessable("image_too_many_pixels", detail).with_context(
                    json!({"width": width, "height": height, "max_pixels": MAX_PIXELS}),
                )
            }
            MediaError::Corrupt(_) => ApiError::unprocessable("image_corrupt", detail),
            MediaError::Internal(e) => ApiError::internal(e),
        }
    }
}
