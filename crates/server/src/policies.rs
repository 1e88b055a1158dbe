//! Admin view and change of the city's run-time policies.

use actix_web::{get, patch, web};
use peken_kernel::auth::Auth;
use peken_kernel::error::Problem;
use peken_kernel::policy::Policies;
use peken_kernel::{ApiError, ApiResult, AppState, role_set};
use sea_orm::TransactionTrait;
use utoipa_actix_web::service_config::ServiceConfig;

role_set!(pub PolicyReaders = [Admin, Treasury]);
role_set!(pub PolicyWriters = [Admin]);

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(get_policies).service(patch_policies);
}

/// The policies in force.
#[utoipa::path(
    tag = "policies",
    security(("bearer" = [])),
    responses((status = 200, description = "Policies in force", body = Policies))
)]
#[get("/admin/policies")]
async fn get_policies(
    state: web::Data<AppState>,
    _auth: Auth<PolicyReaders>,
) -> ApiResult<web::Json<Policies>> {
    Ok(web::Json(state.policies.get(&state.db).await?))
}

/// Change some policies: the body holds only the fields to change.
#[utoipa::path(
    tag = "policies",
    security(("bearer" = [])),
    request_body(content = Policies, description = "Any subset of the policy fields (every field of `Policies` is optional here); the others keep their value"),
    responses(
        (status = 200, description = "Policies now in force", body = Policies),
        (status = 422, description = "Invalid values", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/admin/policies")]
async fn patch_policies(
    state: web::Data<AppState>,
    auth: Auth<PolicyWriters>,
    body: web::Json<serde_json::Map<String, serde_json::Value>>,
) -> ApiResult<web::Json<Policies>> {
    let txn = state.db.begin().await?;
    let current = peken_kernel::policy::PolicyStore::load(&txn).await?;
    let before = serde_json::to_value(&current).map_err(ApiError::internal)?;
    let Ok(serde_json::Value::Object(mut merged)) = serde_json::to_value(&current) else {
        return Err(ApiError::internal(anyhow::anyhow!(
            "policies are not an object"
        )));
    };
    let mut v = peken_kernel::Validation::new();
    for (key, value) in body.into_inner() {
        if merged.contains_key(&key) {
            merged.insert(key, value);
        } else {
            v.push(&key, "unknown_policy", "no policy has this name".into());
        }
    }
    v.finish()?;
    let policies: Policies = serde_json::from_value(serde_json::Value::Object(merged))
        .map_err(|e| ApiError::unprocessable("invalid_policy", format!("invalid value: {e}")))?;
    let mut v = peken_kernel::Validation::new();
    for (field, message) in policies.problems() {
        v.push(field, "out_of_range", message);
    }
    v.finish()?;
    state.policies.set(&txn, &policies, state.now()).await?;
    peken_audit::record(
        &txn,
        &auth.caller,
        peken_audit::Change::new("policies.changed", "policies", "city")
            .before(before)
            .after(serde_json::to_value(&policies).map_err(ApiError::internal)?),
        state.now(),
    )
    .await?;
    txn.commit().await?;
    tracing::info!("policies changed");
    Ok(web::Json(policies))
}
