//! What every operation of a kind answers, added to the OpenAPI document in one place rather
//! than written on each handler: 401 and 403 on every secured operation (the `Auth` extractor
//! answers them), 404 where a path names a resource, 400, 413 and 415 where a request has a
//! body or a query (the extractors answer them), 422 everywhere (validation, and the
//! control-character guard, which reads every header too), 503 on every operation (a lost
//! database, a request past its time), and `limit` as 1 to 200. A
//! handler's own description of one of these statuses is kept.

use utoipa::openapi::path::{Operation, Parameter, ParameterIn};
use utoipa::openapi::schema::Schema;
use utoipa::openapi::{Content, OpenApi, Ref, RefOr, Response};

/// The most and fewest items one page holds (`peken_kernel::pagination`).
const LIMIT_RANGE: (usize, usize) = (1, peken_kernel::pagination::MAX_LIMIT as usize);

pub fn add_common_responses(api: &mut OpenApi) {
    for item in api.paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            complete(op);
        }
    }
}

fn complete(op: &mut Operation) {
    let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
    let parameters: Vec<&mut Parameter> = op
        .parameters
        .iter_mut()
        .flatten()
        .filter_map(|p| match p {
            RefOr::T(p) => Some(p),
            RefOr::Ref(_) => None,
        })
        .collect();
    let has_path = parameters
        .iter()
        .any(|p| matches!(p.parameter_in, ParameterIn::Path));
    // Query parameters and headers such as `Idempotency-Key`: read by extractors that answer
    // 400 when they cannot.
    let has_query = parameters
        .iter()
        .any(|p| matches!(p.parameter_in, ParameterIn::Query | ParameterIn::Header));
    for p in parameters {
        if p.name == "limit"
            && let Some(RefOr::T(Schema::Object(schema))) = &mut p.schema
        {
            schema.minimum = Some(LIMIT_RANGE.0.into());
            schema.maximum = Some(LIMIT_RANGE.1.into());
        }
    }
    let has_body = op.request_body.is_some();
    let mut add = |status: &str, description: &str| {
        op.responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::T(problem(description)));
    };
    if secured {
        add(
            "401",
            "No valid access token (`unauthenticated`, `invalid_token`)",
        );
        add("403", "The caller's role may not do this (`forbidden`)");
    }
    if has_path {
        add("404", "No such resource, or not the caller's (`not_found`)");
    }
    if has_query || has_body {
        add(
            "400",
            "The body is not valid JSON (`malformed_json`), the query cannot be read (`invalid_query`), or a header is malformed (`invalid_idempotency_key`)",
        );
    }
    // The control-character guard reads every header, so any operation may answer 422.
    add(
        "422",
        if has_path || has_query || has_body {
            "A field is invalid (`validation_failed`, `invalid_body`), or text holds a control character (`control_character`)"
        } else {
            "A header holds a control character (`control_character`)"
        },
    );
    if has_body {
        add("413", "The body is too large (`payload_too_large`)");
        add(
            "415",
            "The body is not of a content type this operation reads (`unsupported_media_type`)",
        );
    }
    add(
        "503",
        "The database is unavailable or the request ran past its time; nothing was written (`database_unavailable`, `transaction_conflict`, `request_timeout`)",
    );
}

fn problem(description: &str) -> Response {
    let mut response = Response::new(description);
    response.content.insert(
        "application/problem+json".to_owned(),
        RefOr::T(Content::new(Some(Ref::from_schema_name("Problem")))),
    );
    response
}
