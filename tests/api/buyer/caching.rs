//! `ETag`, 304 and `Cache-Control` on lists that change rarely and on the listing page.

use peken_tests::spawn_app;
use reqwest::Method;
use serde_json::json;

use crate::fixtures::orders::shop_with_listing;
use crate::fixtures::revalidates;

#[tokio::test]
async fn reference_lists_and_listing_pages_revalidate_and_change_their_tag_when_they_change() {
    let app = spawn_app().await;
    let (shop, listing) = shop_with_listing(&app, 10_000, 5).await;
    revalidates(&app, "/api/v1/categories", "max-age=60").await;
    revalidates(&app, "/api/v1/regions?level=kecamatan", "max-age=86400").await;
    let commodities = revalidates(&app, "/api/v1/commodities", "max-age=60").await;
    let page = revalidates(&app, &format!("/api/v1/listings/{listing}"), "max-age=30").await;

    // A new price is a new listing page, so its tag changes.
    app.patch(
        &format!("/api/v1/merchants/{}/listings/{listing}", shop.id),
        Some(&shop.owner.token),
        &json!({"price": 11_000}),
    )
    .await
    .expect(200);
    let changed = app
        .send(
            Method::GET,
            &format!("/api/v1/listings/{listing}"),
            None,
            None,
            &[("If-None-Match", &page)],
        )
        .await;
    assert_eq!(changed.status.as_u16(), 200);
    assert_eq!(changed.body["price"], 11_000);
    // A new commodity changes the commodity list's tag.
    crate::fixtures::orders::any_commodity(&app, Some(20_000), None).await;
    let changed = app
        .send(
            Method::GET,
            "/api/v1/commodities",
            None,
            None,
            &[("If-None-Match", &commodities)],
        )
        .await;
    assert_eq!(changed.status.as_u16(), 200);
}
