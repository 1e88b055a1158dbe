//! The shop's reports: sales per day or product, and the tax-year statement.

mod sales;
mod tax_year;

use peken_tests::TestApp;

/// Status, headers and raw body of a GET (for CSV, XLSX and PDF answers).
pub async fn raw(
    app: &TestApp,
    path: &str,
    token: &str,
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let res = app
        .client
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    (status, headers, res.bytes().await.unwrap().to_vec())
}

/// The `Content-Type` of an answer.
pub fn content_type(headers: &reqwest::header::HeaderMap) -> &str {
    headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}
