//! Cursor pagination: `limit` (default 50, at most 200) and an opaque `cursor` that encodes the
//! sort key of the last row seen, so pages stay stable while rows are added.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// How many items to return: 1 to 200, default 50.
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageParams {
    pub fn limit(&self) -> Result<u64, ApiError> {
        match self.limit {
            None => Ok(u64::from(DEFAULT_LIMIT)),
            Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(u64::from(n)),
            Some(_) => Err(ApiError::field(
                "limit",
                "invalid_limit",
                format!("limit must be from 1 to {MAX_LIMIT}"),
            )),
        }
    }

    /// The decoded cursor, or a 422 when it is not one of ours.
    pub fn cursor<T: DeserializeOwned>(&self) -> Result<Option<T>, ApiError> {
        let Some(raw) = self.cursor.as_deref().filter(|c| !c.is_empty()) else {
            return Ok(None);
        };
        URL_SAFE_NO_PAD
            .decode(raw)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .map(Some)
            .ok_or_else(|| ApiError::field("cursor", "invalid_cursor", "the cursor is not valid"))
    }
}

pub fn encode_cursor<T: Serialize>(key: &T) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(key).unwrap_or_default())
}

/// One page of a list.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows: the extra row only says that more exist.
    pub fn from_rows<R, K: Serialize>(
        mut rows: Vec<R>,
        limit: u64,
        key: impl Fn(&R) -> K,
        map: impl FnMut(R) -> T,
    ) -> Self {
        let more = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        let next_cursor = if more {
            rows.last().map(|r| encode_cursor(&key(r)))
        } else {
            None
        };
        Page {
            items: rows.into_iter().map(map).collect(),
            next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_garbage_is_refused() {
        let params = PageParams {
            limit: None,
            cursor: Some(encode_cursor(&("2026-01-01", "abc"))),
        };
        let back: Option<(String, String)> = params.cursor().expect("decodes");
        assert_eq!(back, Some(("2026-01-01".into(), "abc".into())));
        let bad = PageParams {
            limit: Some(500),
            cursor: Some("!!!".into()),
        };
        assert!(bad.cursor::<(String, String)>().is_err());
        assert!(bad.limit().is_err());
    }

    #[test]
    fn the_extra_row_makes_a_next_cursor() {
        let page = Page::from_rows(vec![1, 2, 3], 2, |r| *r, |r| r * 10);
        assert_eq!(page.items, vec![10, 20]);
        assert!(page.next_cursor.is_some());
        let last = Page::from_rows(vec![1, 2], 2, |r| *r, |r| r);
        assert!(last.next_cursor.is_none());
    }
}
