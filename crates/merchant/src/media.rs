//! Photos as buyers get them: the stored sizes of a product's or shop's photo turned into URLs.

use std::collections::HashMap;

use peken_kernel::AppState;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::store::{merchant, product_image};

/// One stored size of a photo, as kept in the database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRendition {
    pub width: u32,
    pub height: u32,
    pub key: String,
    pub bytes: u64,
}

/// A photo's addresses: a small one for lists and the largest stored one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ImageUrls {
    /// About 160 px wide, for lists.
    pub thumbnail_url: String,
    /// About 480 px wide, for a product page on a phone.
    pub medium_url: String,
    /// The largest stored size (about 1080 px wide at most).
    pub url: String,
    /// Of the largest size.
    pub width: u32,
    pub height: u32,
}

/// A photo in lists (browse): the small size and the largest, nothing more, so that a page of
/// fifty items stays small on a phone's connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ListImage {
    /// About 160 px wide.
    pub thumbnail_url: String,
    /// The largest stored size (about 1080 px wide at most).
    pub url: String,
}

/// The keys of a [`ListImage`] (the smallest stored size's and the largest's) in the JSON the
/// database keeps, for holding a photo without its URLs.
pub fn list_keys_of_json(json: &str) -> Option<(String, String)> {
    let mut renditions: Vec<StoredRendition> = serde_json::from_str(json).ok()?;
    let largest = renditions.pop()?.key;
    let smallest = if renditions.is_empty() {
        largest.clone()
    } else {
        renditions.swap_remove(0).key
    };
    Some((smallest, largest))
}

/// The URLs of a photo stored in these sizes (smallest first); `None` without any.
pub fn urls(state: &AppState, renditions: &[StoredRendition]) -> Option<ImageUrls> {
    let smallest = renditions.first()?;
    let largest = renditions.last()?;
    let medium = renditions
        .iter()
        .find(|r| r.width >= 480)
        .unwrap_or(largest);
    Some(ImageUrls {
        thumbnail_url: url(state, &smallest.key),
        medium_url: url(state, &medium.key),
        url: url(state, &largest.key),
        width: largest.width,
        height: largest.height,
    })
}

/// [`urls`] of the JSON the database keeps.
pub fn urls_of_json(state: &AppState, json: &str) -> Option<ImageUrls> {
    let renditions: Vec<StoredRendition> = serde_json::from_str(json).ok()?;
    urls(state, &renditions)
}

fn url(state: &AppState, key: &str) -> String {
    state.media.url(key)
}

/// A shop as order views show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ShopFace {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub photo: Option<ImageUrls>,
    /// The shop's phone, for the buyer to call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// The shop's street address (for pickup).
    pub address: String,
    pub kelurahan_code: String,
}

/// What views of orders show beside their lines: the shops' names, photos and how to reach
/// them, and each
/// product's first photo, in two queries.
#[derive(Debug, Default)]
pub struct Faces {
    pub shops: HashMap<String, ShopFace>,
    pub images: HashMap<String, ImageUrls>,
}

pub async fn faces<C: ConnectionTrait>(
    state: &AppState,
    conn: &C,
    merchant_ids: &[String],
    product_ids: &[String],
) -> Result<Faces, DbErr> {
    let mut found = Faces::default();
    if !merchant_ids.is_empty() {
        for m in merchant::Entity::find()
            .filter(merchant::Column::Id.is_in(merchant_ids.to_vec()))
            .all(conn)
            .await?
        {
            let face = ShopFace {
                photo: m
                    .photo
                    .as_deref()
                    .and_then(|json| urls_of_json(state, json)),
                id: m.id.clone(),
                name: m.name,
                phone: m.phone,
                address: m.address,
                kelurahan_code: m.kelurahan_code,
            };
            found.shops.insert(m.id, face);
        }
    }
    if !product_ids.is_empty() {
        for image in product_image::Entity::find()
            .filter(product_image::Column::ProductId.is_in(product_ids.to_vec()))
            .filter(product_image::Column::Position.eq(0))
            .all(conn)
            .await?
        {
            if let Some(urls) = urls_of_json(state, &image.renditions) {
                found.images.insert(image.product_id, urls);
            }
        }
    }
    Ok(found)
}
