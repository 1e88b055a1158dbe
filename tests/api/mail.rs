//! The mail outbox against a real SMTP server started in-process: committed events are mailed
//! once, rolled-back ones never; an outage delays mail and loses none; failures end visible to
//! admins; every attempt of a message carries the same Message-ID.

use std::collections::HashSet;
use std::time::Duration;

use chrono::Duration as Span;
use peken_kernel::Rupiah;
use peken_mail::worker::drain_once;
use peken_mail::{Mail, MailItem, Template, enqueue, message_id};
use peken_tests::smtp::{Mode, Received, SmtpServer};
use peken_tests::{Options, TestApp, spawn_app, spawn_app_with};
use sea_orm::TransactionTrait;
use serde_json::Value;

async fn app_with_smtp(smtp: &SmtpServer, extra: &[(&str, &str)]) -> TestApp {
    let mut vars = vec![("PEKEN_SMTP_URL".to_owned(), smtp.url())];
    vars.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    spawn_app_with(Options {
        vars,
        ..Options::default()
    })
    .await
}

fn paid(order: &str, to: &str) -> Mail {
    Mail {
        to: to.to_owned(),
        to_name: Some("Ani Lestari".to_owned()),
        user_id: None,
        template: Template::OrderPaid {
            order_id: order.to_owned(),
            buyer_name: "Ani Lestari".to_owned(),
            merchant_name: "Toko Bu Sri".to_owned(),
            items: vec![MailItem {
                name: "Beras Premium 5 kg".to_owned(),
                quantity: 2,
                unit: "karung".to_owned(),
                price: Rupiah::new(72_500),
                line_total: Rupiah::new(145_000),
            }],
            total: Rupiah::new(145_000),
        },
        dedupe_key: format!("order:{order}:paid:buyer"),
    }
}

/// Enqueues in a transaction of its own and commits it.
async fn enqueue_committed(app: &TestApp, mail: Mail) {
    let txn = app.state.db.begin().await.unwrap();
    enqueue(&txn, mail, app.state.now()).await.unwrap();
    txn.commit().await.unwrap();
}

async fn outbox(app: &TestApp, status: &str) -> Vec<Value> {
    let admin = app.admin().await;
    let reply = app
        .get(
            &format!("/api/v1/admin/outbox?status={status}"),
            Some(&admin.token),
        )
        .await
        .expect(200);
    reply.body["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_committed_event_is_mailed_once_and_a_rolled_back_one_never() {
    let smtp = SmtpServer::start().await;
    let app = app_with_smtp(&smtp, &[]).await;

    enqueue_committed(&app, paid("ORD-1", "ani@warga.test")).await;
    // The same event enqueued again (a replayed callback) is stored once.
    enqueue_committed(&app, paid("ORD-1", "ani@warga.test")).await;
    // An event whose transaction rolls back leaves nothing behind.
    let txn = app.state.db.begin().await.unwrap();
    enqueue(&txn, paid("ORD-2", "budi@warga.test"), app.state.now())
        .await
        .unwrap();
    txn.rollback().await.unwrap();
    // Dropping an uncommitted transaction (an error path) rolls back too.
    {
        let txn = app.state.db.begin().await.unwrap();
        enqueue(&txn, paid("ORD-3", "citra@warga.test"), app.state.now())
            .await
            .unwrap();
    }

    assert_eq!(drain_once(&app.state).await.unwrap(), 1);
    assert_eq!(drain_once(&app.state).await.unwrap(), 0, "nothing twice");

    let got = smtp.messages();
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert_eq!(m.rcpt_to, vec!["ani@warga.test".to_owned()]);
    assert_eq!(m.mail_from, "noreply@peken.surabaya.go.id");
    assert_eq!(
        m.auth_user.as_deref(),
        Some("peken"),
        "credentials from the URL"
    );
    assert_eq!(m.subject(), "Pembayaran pesanan ORD-1 sudah diterima");
    let text = m.text();
    assert!(text.contains("Halo Ani Lestari,"), "{text}");
    assert!(
        text.contains("- Beras Premium 5 kg: 2 karung x Rp72.500 = Rp145.000"),
        "{text}"
    );
    assert!(text.contains("Total dibayar: Rp145.000"), "{text}");
    assert!(m.html().contains("<strong>Rp145.000</strong>"));

    let sent = outbox(&app, "sent").await;
    assert_eq!(sent.len(), 1);
    let id = sent[0]["id"].as_str().unwrap();
    assert_eq!(m.message_id(), message_id(id));
    assert_eq!(sent[0]["message_id"], m.message_id());
    assert_eq!(sent[0]["template"], "order_paid");
    assert_eq!(sent[0]["attempts"], 1);
    assert!(outbox(&app, "pending").await.is_empty());
}

#[tokio::test]
async fn an_smtp_outage_delays_mail_and_loses_none() {
    let smtp = SmtpServer::start().await;
    let app = app_with_smtp(&smtp, &[]).await;
    for n in 1..=3 {
        enqueue_committed(&app, paid(&format!("ORD-{n}"), &format!("b{n}@warga.test"))).await;
    }
    smtp.stop().await;

    assert_eq!(drain_once(&app.state).await.unwrap(), 0);
    let pending = outbox(&app, "pending").await;
    assert_eq!(pending.len(), 3);
    for row in &pending {
        assert_eq!(row["attempts"], 1);
        assert!(row["last_error"].as_str().is_some_and(|e| !e.is_empty()));
        assert!(!row.to_string().contains("s3cret"), "no password in errors");
    }

    smtp.restart().await;
    // Back off: not due again until the first retry delay has passed.
    assert_eq!(drain_once(&app.state).await.unwrap(), 0);
    assert!(smtp.messages().is_empty());
    app.clock.advance(Span::seconds(61));
    assert_eq!(drain_once(&app.state).await.unwrap(), 3);

    let got = smtp.messages();
    let to: HashSet<String> = got.iter().flat_map(|m| m.rcpt_to.clone()).collect();
    let expected: HashSet<String> = (1..=3).map(|n| format!("b{n}@warga.test")).collect();
    assert_eq!(to, expected);
    assert_eq!(got.len(), 3, "each exactly once");
    let sent = outbox(&app, "sent").await;
    assert!(sent.iter().all(|r| r["attempts"] == 2));
    let metrics = app.metrics().await;
    assert!(
        metrics.contains(r#"peken_events_total{event="mail",outcome="retry"} 3"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn after_the_last_attempt_a_message_is_failed_until_an_admin_retries_it() {
    let smtp = SmtpServer::start().await;
    let app = app_with_smtp(&smtp, &[("PEKEN_MAIL_MAX_ATTEMPTS", "2")]).await;
    enqueue_committed(&app, paid("ORD-1", "ani@warga.test")).await;
    smtp.set_mode(Mode::TempFail);

    assert_eq!(drain_once(&app.state).await.unwrap(), 0);
    assert_eq!(outbox(&app, "pending").await.len(), 1);
    app.clock.advance(Span::minutes(2));
    assert_eq!(drain_once(&app.state).await.unwrap(), 0);
    let failed = outbox(&app, "failed").await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["attempts"], 2);
    assert!(failed[0]["last_error"].as_str().unwrap().contains("451"));
    // Given up: no further attempts, however long one waits.
    app.clock.advance(Span::days(1));
    assert_eq!(drain_once(&app.state).await.unwrap(), 0);
    assert!(smtp.messages().is_empty());

    let id = failed[0]["id"].as_str().unwrap();
    let admin = app.admin().await;
    let treasury = app.staff("treasury", None).await;
    let retry = format!("/api/v1/admin/outbox/{id}/retry");
    app.post(&retry, Some(&treasury.token), &Value::Null)
        .await
        .expect_problem(403, "forbidden");
    app.post(
        "/api/v1/admin/outbox/nope/retry",
        Some(&admin.token),
        &Value::Null,
    )
    .await
    .expect_problem(404, "not_found");

    smtp.set_mode(Mode::Accept);
    let reply = app
        .post(&retry, Some(&admin.token), &Value::Null)
        .await
        .expect(200);
    assert_eq!(reply.body["status"], "pending");
    assert_eq!(reply.body["attempts"], 0);
    assert_eq!(drain_once(&app.state).await.unwrap(), 1);
    assert_eq!(smtp.messages().len(), 1);
    app.post(&retry, Some(&admin.token), &Value::Null)
        .await
        .expect_problem(409, "mail_already_sent");
    let metrics = app.metrics().await;
    assert!(metrics.contains(r#"peken_events_total{event="mail",outcome="failed"} 1"#));
    assert!(metrics.contains(r#"peken_events_total{event="mail",outcome="sent"} 1"#));
}

#[tokio::test]
async fn a_permanent_refusal_or_a_bad_address_fails_at_once() {
    let smtp = SmtpServer::start().await;
    let app = app_with_smtp(&smtp, &[]).await;
    smtp.set_mode(Mode::PermFail);
    enqueue_committed(&app, paid("ORD-1", "gone@warga.test")).await;
    enqueue_committed(&app, paid("ORD-2", "not an address")).await;
    assert_eq!(drain_once(&app.state).await.unwrap(), 0);
    let failed = outbox(&app, "failed").await;
    assert_eq!(failed.len(), 2, "{failed:?}");
    assert!(failed.iter().all(|r| r["attempts"] == 1));
    let errors: Vec<&str> = failed
        .iter()
        .map(|r| r["last_error"].as_str().unwrap())
        .collect();
    assert!(errors.iter().any(|e| e.contains("550")), "{errors:?}");
    assert!(
        errors
            .iter()
            .any(|e| e.contains("not a valid e-mail address")),
        "{errors:?}"
    );
}

#[tokio::test]
async fn a_crash_between_sending_and_marking_resends_that_message_with_the_same_message_id() {
    let smtp = SmtpServer::start().await;
    let app = app_with_smtp(&smtp, &[]).await;
    enqueue_committed(&app, paid("ORD-1", "ani@warga.test")).await;
    enqueue_committed(&app, paid("ORD-2", "budi@warga.test")).await;

    // A worker claims both, sends the first, and dies before recording it.
    let mailer = peken_mail::Mailer::from_settings(&app.state.settings).unwrap();
    let claimed = peken_mail::outbox::claim(&app.state.db, "crashed-worker", app.state.now(), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    mailer.send(&claimed[0]).await.unwrap();

    // While its lease holds, no other worker touches those rows.
    assert_eq!(drain_once(&app.state).await.unwrap(), 0);
    app.clock
        .advance(peken_mail::outbox::LEASE + Span::seconds(1));
    assert_eq!(drain_once(&app.state).await.unwrap(), 2);

    let got = smtp.messages();
    assert_eq!(got.len(), 3, "one duplicate at most");
    let first = message_id(&claimed[0].id);
    let second = message_id(&claimed[1].id);
    let ids: Vec<String> = got.iter().map(Received::message_id).collect();
    assert_eq!(ids.iter().filter(|id| **id == first).count(), 2, "{ids:?}");
    assert_eq!(ids.iter().filter(|id| **id == second).count(), 1, "{ids:?}");
    // The duplicate is the same message: same Message-ID and Date, so receivers can drop it.
    let copies: Vec<_> = got.iter().filter(|m| m.message_id() == first).collect();
    assert_eq!(copies[0].header("Date"), copies[1].header("Date"));
    assert_eq!(copies[0].text(), copies[1].text());
    // The dead worker's late report changes nothing.
    assert!(
        !peken_mail::outbox::mark_sent(
            &app.state.db,
            &claimed[1],
            "crashed-worker",
            app.state.now()
        )
        .await
        .unwrap()
    );
}

#[tokio::test]
async fn concurrent_workers_send_each_message_exactly_once() {
    let smtp = SmtpServer::start().await;
    let app = app_with_smtp(&smtp, &[]).await;
    for n in 0..40 {
        enqueue_committed(&app, paid(&format!("ORD-{n}"), &format!("b{n}@warga.test"))).await;
    }
    let (a, b, c, d) = tokio::join!(
        drain_once(&app.state),
        drain_once(&app.state),
        drain_once(&app.state),
        drain_once(&app.state),
    );
    let total = a.unwrap() + b.unwrap() + c.unwrap() + d.unwrap();
    assert_eq!(total, 40);
    let got = smtp.messages();
    assert_eq!(got.len(), 40);
    let ids: HashSet<String> = got.iter().map(Received::message_id).collect();
    assert_eq!(ids.len(), 40, "no message sent twice");
}

#[tokio::test]
async fn without_smtp_mail_is_written_to_eml_files() {
    let app = spawn_app().await;
    enqueue_committed(&app, paid("ORD-1", "ani@warga.test")).await;
    assert_eq!(drain_once(&app.state).await.unwrap(), 1);

    let id = outbox(&app, "sent").await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let dir = app.state.settings.data_dir.join("mail");
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec![format!("{id}.eml")], "no temporary file left");
    let eml = std::fs::read_to_string(dir.join(format!("{id}.eml"))).unwrap();
    assert!(
        eml.contains(&format!("Message-ID: {}", message_id(&id))),
        "{eml}"
    );
    assert!(
        eml.contains("To: \"Ani Lestari\" <ani@warga.test>"),
        "{eml}"
    );
    assert!(eml.contains("Subject: Pembayaran pesanan ORD-1 sudah diterima"));
    assert!(eml.contains("multipart/alternative"));
}

#[tokio::test]
async fn the_outbox_list_is_admin_only_and_paginated() {
    let app = spawn_app().await;
    for n in 0..3 {
        enqueue_committed(&app, paid(&format!("ORD-{n}"), "ani@warga.test")).await;
    }
    let admin = app.admin().await;
    let first = app
        .get("/api/v1/admin/outbox?limit=2", Some(&admin.token))
        .await
        .expect(200);
    assert_eq!(first.body["items"].as_array().unwrap().len(), 2);
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = app
        .get(
            &format!("/api/v1/admin/outbox?limit=2&cursor={cursor}"),
            Some(&admin.token),
        )
        .await
        .expect(200);
    assert_eq!(second.body["items"].as_array().unwrap().len(), 1);
    assert!(second.body["next_cursor"].is_null());
    let mut ids: Vec<Value> = first.body["items"].as_array().unwrap().clone();
    ids.extend(second.body["items"].as_array().unwrap().clone());
    let ids: HashSet<String> = ids
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 3);

    app.get("/api/v1/admin/outbox?status=lost", Some(&admin.token))
        .await
        .expect_problem(400, "invalid_query");
    app.get("/api/v1/admin/outbox?limit=0", Some(&admin.token))
        .await
        .expect_problem(422, "validation_failed");
    let treasury = app.staff("treasury", None).await;
    app.get("/api/v1/admin/outbox", Some(&treasury.token))
        .await
        .expect_problem(403, "forbidden");
}

#[tokio::test]
async fn the_worker_loop_delivers_and_stops_when_told() {
    let smtp = SmtpServer::start().await;
    let app = app_with_smtp(&smtp, &[("PEKEN_WORKER_INTERVAL_MS", "50")]).await;
    let (stop, signal) = tokio::sync::watch::channel(false);
    let mailer = peken_mail::Mailer::from_settings(&app.state.settings).unwrap();
    let worker = tokio::spawn(peken_mail::worker::run(app.state.clone(), mailer, signal));

    enqueue_committed(&app, paid("ORD-1", "ani@warga.test")).await;
    let got = smtp.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(got[0].rcpt_to, vec!["ani@warga.test".to_owned()]);

    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(10), worker)
        .await
        .expect("the worker stops when told")
        .unwrap();
}

/// The e-mail address of a shop's owner, as stored.
async fn owner_email(app: &TestApp, merchant_id: &str) -> String {
    use sea_orm::ConnectionTrait;
    let backend = app.state.db.get_database_backend();
    let row = app
        .state
        .db
        .query_one_raw(sea_orm::Statement::from_sql_and_values(
            backend,
            "SELECT email FROM users WHERE merchant_id = $1 AND role = 'merchant' ORDER BY created_at LIMIT 1",
            [merchant_id.into()],
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<String>("", "email").unwrap()
}

/// (recipient, subject) of each message, sorted, for comparing what was sent with what should be.
fn envelopes(got: &[Received]) -> Vec<(String, String)> {
    let mut list: Vec<(String, String)> = got
        .iter()
        .map(|m| (m.rcpt_to.join(","), m.subject()))
        .collect();
    list.sort();
    list
}

#[tokio::test]
async fn an_orders_life_mails_exactly_the_expected_people_with_the_expected_amounts() {
    use crate::fixtures::orders::{buyer, callback, cart, checkout, paid_order, shop_with_listing};
    use serde_json::json;

    let smtp = SmtpServer::start().await;
    let app = app_with_smtp(&smtp, &[]).await;
    let admin = app.admin().await;
    let (shop, beras) = shop_with_listing(&app, 14_000, 20).await;
    let shop_name = app
        .get(
            &format!("/api/v1/merchants/{}", shop.id),
            Some(&admin.token),
        )
        .await
        .expect(200)
        .body["name"]
        .as_str()
        .unwrap()
        .to_owned();
    let buyer = buyer(&app).await;
    let me = app.get("/api/v1/me", Some(&buyer.token)).await.expect(200);
    let buyer_mail = format!("{}@asn.test", me.body["nip"].as_str().unwrap());
    // Before any order: only the shop's verification result has been mailed.
    assert_eq!(drain_once(&app.state).await.unwrap(), 1);
    smtp.clear();

    // A callback refused for a wrong amount records nothing, so it mails nothing.
    let pending = checkout(&app, &buyer, "mail-k0", &cart(&[(&beras, 1)]))
        .await
        .expect(201);
    let payment_id = pending.body["payment"]["id"].as_str().unwrap();
    callback(&app, payment_id, 1, "ref-wrong").await.expect(422);
    assert_eq!(drain_once(&app.state).await.unwrap(), 0);
    assert!(smtp.messages().is_empty());

    // A: paid, accepted, ready for pickup, received.
    let (a, _, a_amount) = paid_order(&app, &buyer, &beras, 3).await;
    assert_eq!(a_amount, 42_000);
    for (step, who) in [
        ("accept", &shop.owner),
        ("ship", &shop.owner),
        ("receipt", &buyer),
    ] {
        app.post(
            &format!("/api/v1/orders/{a}/{step}"),
            Some(&who.token),
            &json!({}),
        )
        .await
        .expect(200);
    }
    // B: paid, then rejected by the shop.
    let (b, _, _) = paid_order(&app, &buyer, &beras, 2).await;
    app.post(
        &format!("/api/v1/orders/{b}/reject"),
        Some(&shop.owner.token),
        &json!({"reason": "Stok beras habis"}),
    )
    .await
    .expect(200);
    // C: paid, accepted, shipped, disputed, refunded by an admin.
    let (c, _, _) = paid_order(&app, &buyer, &beras, 1).await;
    for step in ["accept", "ship"] {
        app.post(
            &format!("/api/v1/orders/{c}/{step}"),
            Some(&shop.owner.token),
            &json!({}),
        )
        .await
        .expect(200);
    }
    app.post(
        &format!("/api/v1/orders/{c}/dispute"),
        Some(&buyer.token),
        &json!({"reason": "Beras berkutu"}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/admin/orders/{c}/dispute-resolution"),
        Some(&admin.token),
        &json!({"resolution": "refunded", "reason": "Barang tidak layak"}),
    )
    .await
    .expect(200);

    assert_eq!(drain_once(&app.state).await.unwrap(), 13);
    assert_eq!(drain_once(&app.state).await.unwrap(), 0);
    let got = smtp.messages();
    let to_buyer = |subject: String| (buyer_mail.clone(), subject);
    let shop_mail = owner_email(&app, &shop.id).await;
    let to_shop = |subject: String| (shop_mail.clone(), subject);
    let mut expected = vec![
        to_buyer(format!("Pembayaran pesanan {a} sudah diterima")),
        to_shop(format!("Pesanan baru {a} sudah dibayar")),
        to_buyer(format!("Pesanan {a} diterima oleh penjual")),
        to_buyer(format!("Pesanan {a} siap diambil")),
        to_buyer(format!("Pesanan {a} selesai")),
        to_buyer(format!("Pembayaran pesanan {b} sudah diterima")),
        to_shop(format!("Pesanan baru {b} sudah dibayar")),
        to_buyer(format!("Pesanan {b} ditolak oleh penjual")),
        to_buyer(format!("Pembayaran pesanan {c} sudah diterima")),
        to_shop(format!("Pesanan baru {c} sudah dibayar")),
        to_buyer(format!("Pesanan {c} diterima oleh penjual")),
        to_buyer(format!("Pesanan {c} siap diambil")),
        to_buyer(format!("Dana pesanan {c} dikembalikan")),
    ];
    expected.sort();
    assert_eq!(envelopes(&got), expected);

    let body = |subject: String| {
        got.iter()
            .find(|m| m.subject() == subject)
            .unwrap_or_else(|| panic!("no message {subject:?}"))
            .text()
    };
    let paid = body(format!("Pembayaran pesanan {a} sudah diterima"));
    assert!(
        paid.contains(&format!("pesanan {a} di {shop_name}")),
        "{paid}"
    );
    assert!(paid.contains(": 3 kg x Rp14.000 = Rp42.000"), "{paid}");
    assert!(paid.contains("Total dibayar: Rp42.000"), "{paid}");
    let new_order = body(format!("Pesanan baru {a} sudah dibayar"));
    assert!(new_order.contains("Total: Rp42.000"), "{new_order}");
    let completed = body(format!("Pesanan {a} selesai"));
    assert!(completed.contains("Total belanja: Rp42.000"), "{completed}");
    let rejected = body(format!("Pesanan {b} ditolak oleh penjual"));
    assert!(rejected.contains("Alasan: Stok beras habis"), "{rejected}");
    assert!(rejected.contains("Dana sebesar Rp28.000"), "{rejected}");
    let refunded = body(format!("Dana pesanan {c} dikembalikan"));
    assert!(refunded.contains("Dana sebesar Rp14.000"), "{refunded}");
    assert!(
        refunded.contains("Alasan: Barang tidak layak"),
        "{refunded}"
    );
    // Every message has its own Message-ID.
    let ids: HashSet<String> = got.iter().map(Received::message_id).collect();
    assert_eq!(ids.len(), 13);
}
