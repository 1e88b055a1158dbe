//! `/me/favourites`.

use peken_tests::spawn_app;
use serde_json::json;

use crate::fixtures::orders::{buyer, shop_with_listing};

#[tokio::test]
async fn favourites_are_the_buyers_own_and_show_todays_state() {
    let app = spawn_app().await;
    let (shop, first) = shop_with_listing(&app, 12_500, 5).await;
    let c = crate::fixtures::orders::any_commodity(&app, None, None).await;
    let second = shop.list(&app, &c, 9_000, 3).await;
    let me = buyer(&app).await;
    let t = Some(me.token.as_str());

    let added = app
        .put(&format!("/api/v1/me/favourites/{first}"), t, &json!({}))
        .await
        .expect(200);
    assert_eq!(added.body["listing"]["price"], 12_500);
    assert_eq!(added.body["listing"]["available"], true);
    // Marking it again changes nothing.
    let again = app
        .put(&format!("/api/v1/me/favourites/{first}"), t, &json!({}))
        .await
        .expect(200);
    assert_eq!(again.body["added_at"], added.body["added_at"]);
    app.clock.advance(chrono::Duration::seconds(5));
    app.put(&format!("/api/v1/me/favourites/{second}"), t, &json!({}))
        .await
        .expect(200);

    let page = app
        .get("/api/v1/me/favourites?limit=1", t)
        .await
        .expect(200);
    assert_eq!(
        page.body["items"][0]["listing"]["listing_id"],
        second.as_str(),
        "newest first"
    );
    let cursor = page.body["next_cursor"].as_str().unwrap();
    let next = app
        .get(&format!("/api/v1/me/favourites?limit=1&cursor={cursor}"), t)
        .await
        .expect(200);
    assert_eq!(
        next.body["items"][0]["listing"]["listing_id"],
        first.as_str()
    );
    assert!(next.body["next_cursor"].is_null());

    // Switched off by the shop: still a favourite, shown as unavailable with the reason.
    app.patch(
        &format!("/api/v1/merchants/{}/listings/{second}", shop.id),
        Some(&shop.owner.token),
        &json!({"active": false}),
    )
    .await
    .expect(200);
    let page = app.get("/api/v1/me/favourites", t).await.expect(200);
    let off = page.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["listing"]["listing_id"] == second.as_str())
        .unwrap();
    assert_eq!(off["listing"]["available"], false);
    assert_eq!(off["listing"]["unavailable_reason"], "inactive");

    // Another buyer has their own list; removing what is not a favourite is 404.
    let other = buyer(&app).await;
    let theirs = app
        .get("/api/v1/me/favourites", Some(&other.token))
        .await
        .expect(200);
    assert_eq!(theirs.body["items"], json!([]));
    app.delete(
        &format!("/api/v1/me/favourites/{first}"),
        Some(&other.token),
    )
    .await
    .expect_problem(404, "not_found");
    app.delete(&format!("/api/v1/me/favourites/{first}"), t)
        .await
        .expect(204);
    app.delete(&format!("/api/v1/me/favourites/{first}"), t)
        .await
        .expect_problem(404, "not_found");
    app.put("/api/v1/me/favourites/no-such-listing", t, &json!({}))
        .await
        .expect_problem(404, "not_found");
    // A listing switched off can still be opened and marked (the shop may switch it on again);
    // one taken down cannot, as buyers cannot open it.
    app.put(
        &format!("/api/v1/me/favourites/{second}"),
        Some(&other.token),
        &json!({}),
    )
    .await
    .expect(200);
    let admin = app.admin().await;
    app.post(
        &format!("/api/v1/admin/listings/{first}/takedown"),
        Some(&admin.token),
        &json!({"reason": "foto menyesatkan"}),
    )
    .await
    .expect(200);
    app.put(&format!("/api/v1/me/favourites/{first}"), t, &json!({}))
        .await
        .expect_problem(404, "not_found");
}
