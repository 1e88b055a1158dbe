//! Secrets and personal data never reach the logs. A real `peken serve` runs with
//! `PEKEN_LOG=debug` and JSON logs; a whole life of the marketplace goes through it (registration,
//! login and refresh, a merchant's bank account, checkout, the provider's callback, receipt, a
//! payout batch approved and its bank statement, a failed login); then every line it printed is
//! searched for each NIK, password, token, bank account number and secret used: none is there.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{
    ADMIN_EMAIL, Client, JWT_SECRET, PASSWORD, Peken, WEBHOOK_SECRET, base_vars, open_shops,
    register_buyers, scratch,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_run_at_debug_level_logs_no_personal_data_or_secret() {
    let root = scratch("logs");
    let (database_url, _database) = crate::harness::database(&root, "logs").await;
    let mut vars = base_vars(&database_url, &root);
    vars.retain(|(k, _)| k != "PEKEN_LOG");
    vars.extend([
        ("PEKEN_LOG".to_owned(), "debug".to_owned()),
        ("PEKEN_LOG_FORMAT".to_owned(), "json".to_owned()),
        ("PEKEN_AUTO_MIGRATE".to_owned(), "true".to_owned()),
        ("PEKEN_WORKER_INTERVAL_MS".to_owned(), "200".to_owned()),
    ]);
    let client = Client::new(Duration::from_secs(30));
    let log = root.join("peken.log");
    let mut server = Peken::start(vars, log.clone());
    server.ready(&client, Duration::from_secs(60)).await;
    let base = server.base.clone();

    let mut secrets: Vec<(String, String)> = vec![
        ("password".into(), PASSWORD.into()),
        ("JWT secret".into(), JWT_SECRET.into()),
        ("webhook secret".into(), WEBHOOK_SECRET.into()),
    ];
    let admin_login = client
        .post(
            &base,
            "/api/v1/auth/login",
            None,
            &json!({"login": ADMIN_EMAIL, "password": PASSWORD}),
        )
        .await
        .expect(200);
    let admin = admin_login.str("/access_token");
    secrets.push((
        "admin refresh token".into(),
        admin_login.str("/refresh_token"),
    ));
    let shops = open_shops(&client, &base, &admin, 7, 1, 50).await;
    let shop = &shops[0];
    secrets.push(("bank account".into(), shop.account_number.clone()));
    secrets.push(("owner NIK".into(), crate::harness::nik(7 + 500, 0)));
    let owner = client.login(&base, &shop.owner_email).await;
    let new_account = "8123456789012".to_owned();
    client
        .send(
            &base,
            Method::PUT,
            &format!("/api/v1/merchants/{}/bank-account", shop.merchant),
            Some(&owner),
            Some(&json!({"bank_code": "014", "account_number": new_account,
                         "account_name": "PEMILIK UJI"})),
            &[],
        )
        .await
        .expect(200);
    secrets.push(("new bank account".into(), new_account.clone()));
    // The admin confirms the new account, so the payout below may go to it.
    client
        .post(
            &base,
            &format!(
                "/api/v1/admin/merchants/{}/bank-account/confirmation",
                shop.merchant
            ),
            Some(&admin),
            &json!({}),
        )
        .await
        .expect(200);

    let buyers = register_buyers(&client, &base, &database_url, 7, 1).await;
    let (nik, _) = &buyers[0];
    secrets.push(("buyer NIK".into(), nik.clone()));
    // A fresh login (its tokens are recorded) and a refresh.
    let login = client
        .post(
            &base,
            "/api/v1/auth/login",
            None,
            &json!({"login": nik, "password": PASSWORD}),
        )
        .await
        .expect(200);
    let refreshed = client
        .post(
            &base,
            "/api/v1/auth/refresh",
            None,
            &json!({"refresh_token": login.str("/refresh_token")}),
        )
        .await
        .expect(200);
    let buyer = refreshed.str("/access_token");
    for (what, reply) in [("buyer", &login), ("refreshed buyer", &refreshed)] {
        secrets.push((format!("{what} access token"), reply.str("/access_token")));
        secrets.push((format!("{what} refresh token"), reply.str("/refresh_token")));
    }
    secrets.push(("owner access token".into(), owner.clone()));
    secrets.push(("admin access token".into(), admin.clone()));
    // A wrong password and an unknown NIK are logged as failures, without what was typed.
    let typo = "Typo-Password-77".to_owned();
    client
        .post(
            &base,
            "/api/v1/auth/login",
            None,
            &json!({"login": nik, "password": typo}),
        )
        .await
        .expect(401);
    secrets.push(("mistyped password".into(), typo));
    // A token with a forged signature is refused and the refusal logged at debug level, without
    // the token.
    let forged = format!("{}AAAA", &buyer[..buyer.len() - 4]);
    client
        .get(&base, "/api/v1/me", Some(&forged))
        .await
        .expect(401);
    secrets.push(("forged token".into(), forged));

    let checkout = client
        .send(
            &base,
            Method::POST,
            "/api/v1/checkout",
            Some(&buyer),
            Some(
                &json!({"items": [{"listing_id": shop.listing, "quantity": 2}],
                         "fulfilment": {"method": "delivery", "address": "Jl. Rahasia 9"},
                         "payment_method": "va"}),
            ),
            &[("Idempotency-Key", "logs-1")],
        )
        .await
        .expect(201);
    let order = checkout.str("/orders/0/id");
    let payment = checkout.str("/payment/id");
    let amount = checkout.body["payment"]["amount"].as_i64().unwrap();
    client.callback(&base, &payment, amount).await.expect(200);
    for step in ["accept", "ship"] {
        client
            .post(
                &base,
                &format!("/api/v1/orders/{order}/{step}"),
                Some(&owner),
                &json!({}),
            )
            .await
            .expect(200);
    }
    client
        .post(
            &base,
            &format!("/api/v1/orders/{order}/receipt"),
            Some(&buyer),
            &json!({}),
        )
        .await
        .expect(200);

    // Treasury pays the merchant: a batch, its approval by a second person, the bank's file and
    // statement, which carry the account number.
    let mut treasurers = Vec::new();
    for n in 0..2 {
        let email = format!("bendahara{n}@faults.test");
        client
            .post(
                &base,
                "/api/v1/admin/users",
                Some(&admin),
                &json!({"role": "treasury", "email": email, "password": PASSWORD,
                        "name": "Bendahara"}),
            )
            .await
            .expect(201);
        treasurers.push(client.login(&base, &email).await);
    }
    let batch = client
        .post(
            &base,
            "/api/v1/treasury/payout-batches",
            Some(&treasurers[0]),
            &json!({"cutoff": chrono::Utc::now().to_rfc3339()}),
        )
        .await
        .expect(201);
    let batch_id = batch.str("/id");
    let approved = client
        .post(
            &base,
            &format!("/api/v1/treasury/payout-batches/{batch_id}/approval"),
            Some(&treasurers[1]),
            &json!({}),
        )
        .await
        .expect(200);
    let file = client
        .get(
            &base,
            &format!("/api/v1/treasury/payout-batches/{batch_id}/transfer-file"),
            Some(&treasurers[0]),
        )
        .await
        .expect(200);
    assert!(
        file.text.contains(&new_account),
        "the bank's file names the account"
    );
    let item = &approved.body["items"][0];
    let statement = format!(
        "value_date,description,debit,credit,balance\n{},\"TRF {} {} PEMILIK UJI\",{}.00,,1000000.00\n",
        chrono::Utc::now().date_naive(),
        item["reference"].as_str().unwrap(),
        new_account,
        item["amount"].as_i64().unwrap(),
    );
    let imported = client
        .send_raw(
            &base,
            "/api/v1/treasury/bank-statements",
            statement.into_bytes(),
            &[
                ("content-type", "text/csv"),
                ("authorization", &format!("Bearer {}", treasurers[0])),
            ],
        )
        .await
        .expect(201);
    assert_eq!(imported.body["matched"], 1, "{}", imported.text);
    for (n, token) in treasurers.iter().enumerate() {
        secrets.push((format!("treasurer {n} token"), token.clone()));
    }
    // Give the workers (mail to files) a moment to run and log.
    tokio::time::sleep(Duration::from_secs(1)).await;
    drop(server);

    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut levels = std::collections::BTreeMap::new();
    for line in &lines {
        let value: Value = serde_json::from_str(line)
            .unwrap_or_else(|_| panic!("a log line that is not JSON: {line}"));
        *levels
            .entry(value["level"].as_str().unwrap_or("?").to_owned())
            .or_insert(0_usize) += 1;
    }
    assert!(
        levels.contains_key("DEBUG"),
        "the run logged at debug: {levels:?}"
    );
    let requests = text.matches("\"handled\"").count();
    assert!(requests >= 25, "every request is logged: {requests}");
    for (what, secret) in &secrets {
        assert!(secret.len() >= 10, "{what} is long enough to search for");
        let found: Vec<&&str> = lines
            .iter()
            .filter(|l| l.contains(secret.as_str()))
            .collect();
        assert!(
            found.is_empty(),
            "the {what} appears in the log:\n{}",
            found
                .iter()
                .take(3)
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    crate::harness::figure(&format!(
        "logs: {} JSON lines ({levels:?}), {requests} requests; searched for {} secrets and \
         personal numbers: none found",
        lines.len(),
        secrets.len()
    ));
    let _ = std::fs::remove_dir_all(&root);
}
