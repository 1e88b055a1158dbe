//! Authentication and roles: password hashing, JWT access tokens, and the one extractor that
//! decides who the caller is and whether its role may call a handler.

use std::collections::HashMap;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm as ArgonAlgorithm, Argon2, Block, Params, Version};
use chrono::{DateTime, Utc};
use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, decode_header,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::{OnceCell, Semaphore};
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::settings::Secret;
use crate::state::AppState;

/// Who a user is to the system. The role lives in the token and is checked by [`Auth`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Asn,
    Public,
    Merchant,
    Admin,
    Treasury,
    OpdAdmin,
    /// A person of one OPD who buys for it with the duties its OPD admin granted (pemesan, PPK,
    /// penerima, bendahara); the token carries the OPD as for `opd_admin`.
    OpdStaff,
    /// A camat: reads the programme's reports and shops of one kecamatan, changes nothing.
    Camat,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::Asn,
        Role::Public,
        Role::Merchant,
        Role::Admin,
        Role::Treasury,
        Role::OpdAdmin,
        Role::OpdStaff,
        Role::Camat,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Asn => "asn",
            Role::Public => "public",
            Role::Merchant => "merchant",
            Role::Admin => "admin",
            Role::Treasury => "treasury",
            Role::OpdAdmin => "opd_admin",
            Role::OpdStaff => "opd_staff",
            Role::Camat => "camat",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Buyers are the roles that may check out.
    pub fn is_buyer(self) -> bool {
        matches!(self, Role::Asn | Role::Public)
    }
}

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    pub role: Role,
    /// The session (refresh-token family); logging out revokes it.
    pub sid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opd: Option<String>,
    pub iss: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
}

const ISSUER: &str = "peken";
/// Tolerance for clock differences between processes.
const CLOCK_LEEWAY_SECS: i64 = 5;

/// Signing and verification keys. Tokens carry the id of the key that signed them (`kid`), so
/// a new key can sign while the previous ones still verify until their tokens expire.
pub struct JwtKeys {
    current_kid: String,
    encoding: EncodingKey,
    decoding: HashMap<String, DecodingKey>,
}

/// The only cryptography jsonwebtoken gets: HMAC-SHA-256 from the `RustCrypto` crates `hmac`
/// and `sha2`.
/// Its own backends bring RSA and elliptic-curve code this service never uses (`rust_crypto`
/// pulls `rsa`, RUSTSEC-2023-0071; `aws_lc_rs` builds a C library), so neither is compiled in,
/// and any other algorithm is refused before a key is looked at.
mod hs256 {
    use hmac::{Hmac, Mac};
    use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
    use jsonwebtoken::errors::{ErrorKind, Result};
    use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, EncodingKey};
    use sha2::Sha256;
    use signature::{Signer, Verifier};

    type HmacSha256 = Hmac<Sha256>;

    pub(super) static PROVIDER: CryptoProvider = CryptoProvider {
        signer_factory,
        verifier_factory,
        key_utils: KeyUtils::new_unimplemented(),
    };

    struct Hs256(HmacSha256);

    fn keyed(algorithm: Algorithm, family: AlgorithmFamily, key: &[u8]) -> Result<Hs256> {
        if algorithm != Algorithm::HS256 {
            return Err(ErrorKind::InvalidAlgorithm.into());
        }
        if family != AlgorithmFamily::Hmac {
            return Err(ErrorKind::InvalidKeyFormat.into());
        }
        HmacSha256::new_from_slice(key)
            .map(Hs256)
            .map_err(|_| ErrorKind::InvalidKeyFormat.into())
    }

    // The provider's fields take the algorithm by reference.
    #[allow(clippy::trivially_copy_pass_by_ref)]
    fn signer_factory(algorithm: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
        Ok(Box::new(keyed(*algorithm, key.family(), key.as_bytes())?))
    }

    #[allow(clippy::trivially_copy_pass_by_ref)]
    fn verifier_factory(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
        Ok(Box::new(keyed(
            *algorithm,
            key.family(),
            key.try_get_as_bytes()?,
        )?))
    }

    impl Signer<Vec<u8>> for Hs256 {
        fn try_sign(&self, message: &[u8]) -> std::result::Result<Vec<u8>, signature::Error> {
            let mut mac = self.0.clone();
            mac.update(message);
            Ok(mac.finalize().into_bytes().to_vec())
        }
    }

    impl Verifier<Vec<u8>> for Hs256 {
        fn verify(
            &self,
            message: &[u8],
            signature: &Vec<u8>,
        ) -> std::result::Result<(), signature::Error> {
            let mut mac = self.0.clone();
            mac.update(message);
            // Constant-time comparison.
            mac.verify_slice(signature)
                .map_err(signature::Error::from_source)
        }
    }

    impl JwtSigner for Hs256 {
        fn algorithm(&self) -> Algorithm {
            Algorithm::HS256
        }
    }

    impl JwtVerifier for Hs256 {
        fn algorithm(&self) -> Algorithm {
            Algorithm::HS256
        }
    }
}

impl JwtKeys {
    pub fn new(current: &Secret, previous: &[Secret]) -> Self {
        // Installed once per process; a second call finds it installed, which is fine.
        let _ = hs256::PROVIDER.install_default();
        let mut decoding = HashMap::new();
        for secret in std::iter::once(current).chain(previous) {
            decoding.insert(
                key_id(secret),
                DecodingKey::from_secret(secret.expose().as_bytes()),
            );
        }
        Self {
            current_kid: key_id(current),
            encoding: EncodingKey::from_secret(current.expose().as_bytes()),
            decoding,
        }
    }

    pub fn issue(&self, claims: &Claims) -> Result<String, ApiError> {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.current_kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).map_err(ApiError::internal)
    }

    /// Verifies signature, algorithm, issuer, expiry and not-before (against `now`, the
    /// application's clock). Any failure is the same 401 to the caller.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Claims, ApiError> {
        let invalid = || ApiError::unauthorized("invalid_token", "the access token is invalid");
        let header = decode_header(token).map_err(|_| invalid())?;
        if header.alg != Algorithm::HS256 {
            return Err(invalid());
        }
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.decoding.get(kid))
            .ok_or_else(invalid)?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        // Times are checked below against the application's clock, not the system's.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "sub"]);
        let data = decode::<Claims>(token, key, &validation).map_err(|e| {
            tracing::debug!(error = %e, "access token refused");
            invalid()
        })?;
        let now = now.timestamp();
        if data.claims.exp + CLOCK_LEEWAY_SECS <= now || data.claims.nbf - CLOCK_LEEWAY_SECS > now {
            return Err(invalid());
        }
        Ok(data.claims)
    }

    pub fn claims(
        user_id: &str,
        role: Role,
        session_id: &str,
        merchant_id: Option<String>,
        opd_id: Option<String>,
        now: DateTime<Utc>,
        ttl: std::time::Duration,
    ) -> Claims {
        let iat = now.timestamp();
        Claims {
            sub: user_id.to_owned(),
            role,
            sid: session_id.to_owned(),
            mid: merchant_id,
            opd: opd_id,
            iss: ISSUER.to_owned(),
            iat,
            nbf: iat,
            exp: iat + ttl.as_secs() as i64,
        }
    }
}

/// A short, non-secret id for a key: the first 8 bytes of its SHA-256, in hex.
fn key_id(secret: &Secret) -> String {
    let digest = Sha256::digest(secret.expose().as_bytes());
    hex::encode(&digest[..8])
}

/// Argon2id password hashing with a configurable memory cost.
///
/// Every hash needs `memory_kib` of working memory. At most one hash per CPU runs at a time
/// (more would only wait for a CPU). Where glibc maps a buffer that big on its own and unmaps it
/// when freed (a fixed `MALLOC_MMAP_THRESHOLD_` no larger than the buffer, as `peken` starts
/// with), each hash takes its buffer and gives it back, so a server at rest holds none. Without
/// that, glibc carves big buffers out of its heaps after the first is freed and keeps them, and
/// a burst of logins would leave the process hundreds of MB larger: then each buffer is kept
/// for the next hash instead, at most one per slot.
#[derive(Clone)]
pub struct PasswordHasherConfig {
    memory_kib: u32,
    slots: Arc<Semaphore>,
    buffers: Arc<Mutex<Vec<Vec<Block>>>>,
    /// Whether buffers are kept between hashes (see above).
    keep_buffers: bool,
    /// The hash of a fixed password, checked when a login names no account or an account
    /// without a usable password (a roster account not yet activated); made once.
    decoy: Arc<OnceCell<String>>,
    /// How many Argon2 computations ran: what makes a login slow, counted so that a test can
    /// show that every login path pays the same.
    runs: Arc<AtomicU64>,
}

impl PasswordHasherConfig {
    /// One hash at a time per CPU the process sees.
    pub fn new(memory_kib: u32) -> Self {
        let cpus = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        Self::with_concurrency(memory_kib, cpus)
    }

    /// At most `concurrency` hashes at once (`PEKEN_PASSWORD_HASH_CONCURRENCY`): the memory
    /// they take is at most `concurrency` x `memory_kib`, which a container's memory limit must
    /// hold, and more hashes than the CPUs the container may use only queue on the CPU.
    pub fn with_concurrency(memory_kib: u32, concurrency: usize) -> Self {
        let buffer_bytes = usize::try_from(memory_kib).unwrap_or(usize::MAX) * 1024;
        let threshold = std::env::var("MALLOC_MMAP_THRESHOLD_").ok();
        Self {
            memory_kib,
            slots: Arc::new(Semaphore::new(concurrency.max(1))),
            buffers: Arc::default(),
            keep_buffers: !freed_to_the_system(threshold.as_deref(), buffer_bytes),
            decoy: Arc::default(),
            runs: Arc::default(),
        }
    }

    /// The number of Argon2 computations (hashes and checks) this hasher has run.
    pub fn runs(&self) -> u64 {
        self.runs.load(Ordering::Relaxed)
    }

    fn params(&self) -> Params {
        Params::new(self.memory_kib, 2, 1, None).unwrap_or_default()
    }

    /// Runs `work` on a blocking thread (a hash takes tens of milliseconds of CPU) with a
    /// reused memory buffer.
    async fn with_memory<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let _slot = self.slots.acquire().await.map_err(ApiError::internal)?;
        self.runs.fetch_add(1, Ordering::Relaxed);
        let mut buffer = self
            .buffers
            .lock()
            .ok()
            .and_then(|mut b| b.pop())
            .unwrap_or_default();
        let (result, buffer) = web::block(move || {
            let result = work(&mut buffer);
            (result, buffer)
        })
        .await
        .map_err(ApiError::internal)?;
        if self.keep_buffers
            && let Ok(mut buffers) = self.buffers.lock()
        {
            buffers.push(buffer);
        }
        Ok(result)
    }

    pub async fn hash(&self, password: &str) -> Result<String, ApiError> {
        let params = self.params();
        let password = password.to_owned();
        self.with_memory(move |blocks| hash_with(&params, &password, blocks))
            .await?
            .map_err(|e| ApiError::internal(anyhow::anyhow!("password hashing failed: {e}")))
    }

    /// Checks a password against a stored hash. With no stored hash, or one that is no Argon2
    /// hash (an account whose password was never set, such as a roster account awaiting
    /// activation), it checks the decoy instead and answers false: the same computation runs, so
    /// the response time does not tell whether an account exists or has a password.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> Result<bool, ApiError> {
        let (target, real) = if let Some(target) = stored.and_then(Stored::parse) {
            (target, true)
        } else {
            let decoy = self.decoy().await?;
            let target = Stored::parse(&decoy).ok_or_else(|| {
                ApiError::internal(anyhow::anyhow!("the decoy hash does not parse"))
            })?;
            (target, false)
        };
        let password = password.to_owned();
        let matches = self
            .with_memory(move |blocks| target.matches(&password, blocks))
            .await?;
        Ok(matches && real)
    }

    async fn decoy(&self) -> Result<String, ApiError> {
        self.decoy
            .get_or_try_init(|| self.hash("timing-equaliser-password"))
            .await
            .cloned()
    }
}

/// Whether glibc hands a freed block of `bytes` back to the system at once: only under a fixed
/// mmap threshold (`MALLOC_MMAP_THRESHOLD_`) no larger than the block.
fn freed_to_the_system(threshold: Option<&str>, bytes: usize) -> bool {
    threshold
        .and_then(|t| t.trim().parse::<usize>().ok())
        .is_some_and(|t| t <= bytes)
}

/// A PHC string (`$argon2id$v=19$m=…`) for `password` with a fresh salt, computed in `blocks`.
fn hash_with(
    params: &Params,
    password: &str,
    blocks: &mut Vec<Block>,
) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0_u8; 64];
    let raw_salt = salt.as_salt().decode_b64(&mut salt_bytes)?;
    let mut out = vec![0_u8; params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN)];
    blocks.resize(params.block_count(), Block::default());
    Argon2::new(ArgonAlgorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(password.as_bytes(), raw_salt, &mut out, &mut blocks[..])?;
    Ok(PasswordHash {
        algorithm: ArgonAlgorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out)?),
    }
    .to_string())
}

/// A stored Argon2 hash, parsed: what a check needs to run.
struct Stored {
    algorithm: ArgonAlgorithm,
    version: Version,
    params: Params,
    salt: Vec<u8>,
    expected: Output,
}

impl Stored {
    /// `None` when `stored` is no Argon2 PHC string with a salt and an output.
    fn parse(stored: &str) -> Option<Self> {
        let parsed = PasswordHash::new(stored).ok()?;
        let (salt, expected) = (parsed.salt?, parsed.hash?);
        let algorithm = ArgonAlgorithm::try_from(parsed.algorithm).ok()?;
        let version = parsed
            .version
            .map_or(Ok(Version::default()), Version::try_from)
            .ok()?;
        let params = Params::try_from(&parsed).ok()?;
        let mut salt_bytes = [0_u8; 64];
        let salt = salt.decode_b64(&mut salt_bytes).ok()?.to_vec();
        Some(Self {
            algorithm,
            version,
            params,
            salt,
            expected,
        })
    }

    /// Whether `password` hashes to the stored output, computed in `blocks`; the comparison of
    /// the outputs takes constant time.
    fn matches(self, password: &str, blocks: &mut Vec<Block>) -> bool {
        let mut out = vec![0_u8; self.expected.len()];
        blocks.resize(self.params.block_count(), Block::default());
        let computed = Argon2::new(self.algorithm, self.version, self.params)
            .hash_password_into_with_memory(
                password.as_bytes(),
                &self.salt,
                &mut out,
                &mut blocks[..],
            );
        computed.is_ok() && Output::new(&out).is_ok_and(|actual| actual == self.expected)
    }
}

/// The authenticated caller, as its token says.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: String,
    pub role: Role,
    pub session_id: String,
    pub merchant_id: Option<String>,
    pub opd_id: Option<String>,
    /// The id of the HTTP request that carries this call, so what the caller changes can be
    /// traced back to the request in the audit log and the request log. `None` outside HTTP.
    /// Always made by the server, so no client can choose what the audit log calls its request.
    pub request_id: Option<String>,
    /// The `X-Request-Id` the client (or a proxy in front) sent, when it was a sane one: kept
    /// beside the server's id for correlating with the client's own logs, never in its place.
    pub client_request_id: Option<String>,
}

/// The ids of the current HTTP request: `id` is the server's own, `client` what the client sent
/// in `X-Request-Id`. The request middleware stores it in the request's extensions; [`Auth`]
/// copies it into the [`Caller`].
#[derive(Debug, Clone)]
pub struct RequestId {
    pub id: String,
    pub client: Option<String>,
}

impl Caller {
    /// True when the caller is the merchant (owner or staff) of `merchant_id`.
    pub fn is_merchant_of(&self, merchant_id: &str) -> bool {
        self.role == Role::Merchant && self.merchant_id.as_deref() == Some(merchant_id)
    }
}

/// A set of roles allowed to call a handler. Declared with [`role_set!`].
pub trait RoleSet {
    const ROLES: &'static [Role];
}

/// Declares a marker type naming the roles allowed on a handler:
/// `role_set!(pub TreasuryOnly = [Treasury]);` then `auth: Auth<TreasuryOnly>`.
#[macro_export]
macro_rules! role_set {
    ($vis:vis $name:ident = [$($role:ident),* $(,)?]) => {
        #[derive(Debug, Clone, Copy)]
        $vis struct $name;
        impl $crate::auth::RoleSet for $name {
            const ROLES: &'static [$crate::auth::Role] = &[$($crate::auth::Role::$role),*];
        }
    };
}

role_set!(pub AnyRole = [Asn, Public, Merchant, Admin, Treasury, OpdAdmin, OpdStaff, Camat]);
role_set!(pub AdminOnly = [Admin]);
role_set!(pub TreasuryOnly = [Treasury]);
role_set!(pub MerchantOnly = [Merchant]);
role_set!(pub BuyerOnly = [Asn, Public]);
role_set!(pub AsnOnly = [Asn]);

/// The extractor every protected handler takes: it verifies the bearer token, checks that the
/// session is not revoked and that the role is in `R`, else 401 or 403. Roles are checked here
/// and nowhere else; ownership of a resource is the service's business (404 for others').
#[derive(Debug, Clone)]
pub struct Auth<R: RoleSet> {
    pub caller: Caller,
    _roles: PhantomData<R>,
}

impl<R: RoleSet> std::ops::Deref for Auth<R> {
    type Target = Caller;
    fn deref(&self) -> &Caller {
        &self.caller
    }
}

impl<R: RoleSet> FromRequest for Auth<R> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer_token(req);
        let request_id = request_id(req);
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal(anyhow::anyhow!("no state")))?;
            let caller = verify_token(&state, token.as_deref(), request_id)?;
            // The role is checked before anything is awaited, so a refusal never depends on
            // how fast Redis or the body arrive: it is always this 403, never another error.
            if !R::ROLES.contains(&caller.role) {
                return Err(ApiError::forbidden());
            }
            check_session(&state, &caller).await?;
            Ok(Auth {
                caller,
                _roles: PhantomData,
            })
        })
    }
}

/// The caller if a valid token was sent, `None` for an anonymous request. A request that sends
/// an invalid token is refused rather than treated as anonymous.
#[derive(Debug, Clone)]
pub struct MaybeAuth(pub Option<Caller>);

impl FromRequest for MaybeAuth {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer_token(req);
        let request_id = request_id(req);
        Box::pin(async move {
            let Some(token) = token else {
                return Ok(MaybeAuth(None));
            };
            let state = state.ok_or_else(|| ApiError::internal(anyhow::anyhow!("no state")))?;
            let caller = verify_token(&state, Some(&token), request_id)?;
            check_session(&state, &caller).await?;
            Ok(MaybeAuth(Some(caller)))
        })
    }
}

fn request_id(req: &HttpRequest) -> Option<RequestId> {
    use actix_web::HttpMessage;
    req.extensions().get::<RequestId>().cloned()
}

fn bearer_token(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(actix_web::http::header::AUTHORIZATION)?;
    let value = value.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

/// Who the token says the caller is: signature, algorithm, issuer and lifetime checked.
fn verify_token(
    state: &AppState,
    token: Option<&str>,
    request_id: Option<RequestId>,
) -> Result<Caller, ApiError> {
    let token = token
        .ok_or_else(|| ApiError::unauthorized("unauthenticated", "an access token is required"))?;
    let claims = state.jwt.verify(token, state.clock.now())?;
    Ok(Caller {
        user_id: claims.sub,
        role: claims.role,
        session_id: claims.sid,
        merchant_id: claims.mid,
        opd_id: claims.opd,
        client_request_id: request_id.as_ref().and_then(|r| r.client.clone()),
        request_id: request_id.map(|r| r.id),
    })
}

/// Refuses a token whose session ended (logout, refresh-token reuse).
async fn check_session(state: &AppState, caller: &Caller) -> Result<(), ApiError> {
    if state
        .stores
        .revocations
        .is_revoked(&caller.session_id)
        .await
    {
        return Err(ApiError::unauthorized(
            "invalid_token",
            "the session has ended",
        ));
    }
    Ok(())
}

/// A random token for refresh tokens and similar: 32 bytes, URL-safe base64.
pub fn random_token() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0_u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The SHA-256 of a token in hex: what is stored instead of the token itself.
pub fn token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The HS256 provider signs RFC 7515's example (appendix A.1) to the RFC's signature, and
    /// refuses every other algorithm, including HS512 with a good key.
    #[test]
    fn the_hs256_provider_matches_rfc_7515_and_refuses_other_algorithms() {
        use base64::Engine;
        let _ = hs256::PROVIDER.install_default();
        let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow")
            .unwrap();
        let key = EncodingKey::from_secret(&secret);
        let input = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.\
                     eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
        let signature = jsonwebtoken::crypto::sign(input.as_bytes(), &key, Algorithm::HS256);
        assert_eq!(
            signature.unwrap(),
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        );
        for other in [
            Algorithm::HS384,
            Algorithm::HS512,
            Algorithm::RS256,
            Algorithm::ES256,
        ] {
            assert!(
                jsonwebtoken::crypto::sign(input.as_bytes(), &key, other).is_err(),
                "{other:?}"
            );
        }
        let decoding = DecodingKey::from_secret(&secret);
        let good = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let check = |sig: &str, alg| {
            jsonwebtoken::crypto::verify(sig, input.as_bytes(), &decoding, alg).unwrap_or(false)
        };
        assert!(check(good, Algorithm::HS256));
        assert!(!check(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj",
            Algorithm::HS256
        ));
        assert!(!check(good, Algorithm::HS512));
    }

    /// An unknown account, an account whose password was never set (`!`, what the roster
    /// import stores) and a wrong password all cost one Argon2 computation, so none answers
    /// faster than the others.
    #[tokio::test]
    async fn every_login_path_runs_one_argon2_computation() {
        let hasher = PasswordHasherConfig::new(1024);
        let real = hasher.hash("rahasia-sekali").await.unwrap();
        hasher.verify("warm the decoy", None).await.unwrap();
        for stored in [
            None,
            Some("!"),
            Some(""),
            Some("$argon2id$broken"),
            Some(real.as_str()),
        ] {
            let before = hasher.runs();
            assert!(!hasher.verify("tebakan", stored).await.unwrap());
            assert_eq!(hasher.runs() - before, 1, "{stored:?}");
        }
    }

    /// `PEKEN_PASSWORD_HASH_CONCURRENCY` bounds the hashes in flight, and so their memory: with
    /// every slot taken, a hash waits until one is free.
    #[tokio::test]
    async fn hashes_at_once_are_bounded_by_the_concurrency() {
        let hasher = PasswordHasherConfig::with_concurrency(1024, 2);
        let first = hasher.slots.clone().try_acquire_owned().unwrap();
        let second = hasher.slots.clone().try_acquire_owned().unwrap();
        assert!(hasher.slots.clone().try_acquire_owned().is_err());
        let waiting = tokio::time::timeout(
            std::time::Duration::from_millis(300),
            hasher.hash("rahasia-sekali"),
        )
        .await;
        assert!(waiting.is_err(), "a third hash ran beside two");
        assert_eq!(hasher.runs(), 0);
        drop(first);
        assert!(hasher.hash("rahasia-sekali").await.is_ok());
        drop(second);
        // Zero would hash nothing at all: it means one.
        let one = PasswordHasherConfig::with_concurrency(1024, 0);
        assert_eq!(one.slots.available_permits(), 1);
    }

    /// A buffer is kept for the next hash only where glibc would keep it anyway.
    #[tokio::test]
    async fn hash_buffers_are_kept_only_where_freeing_them_returns_nothing() {
        assert!(freed_to_the_system(Some("131072"), 1024 * 1024));
        assert!(!freed_to_the_system(Some("33554432"), 1024 * 1024));
        assert!(!freed_to_the_system(None, 1024 * 1024));
        assert!(!freed_to_the_system(Some("yes"), 1024 * 1024));
        let mut hasher = PasswordHasherConfig::with_concurrency(1024, 2);
        hasher.keep_buffers = false;
        hasher.hash("rahasia-sekali").await.unwrap();
        assert_eq!(hasher.buffers.lock().map_or(9, |b| b.len()), 0);
        hasher.keep_buffers = true;
        hasher.hash("rahasia-sekali").await.unwrap();
        hasher.hash("rahasia-sekali").await.unwrap();
        assert_eq!(hasher.buffers.lock().map_or(9, |b| b.len()), 1);
    }

    #[tokio::test]
    async fn passwords_verify_against_their_hashes_and_the_standard_format() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let hasher = PasswordHasherConfig::new(1024);
        let ours = hasher.hash("rahasia-sekali").await.unwrap();
        assert!(ours.starts_with("$argon2id$v=19$m=1024,t=2,p=1$"));
        assert!(hasher.verify("rahasia-sekali", Some(&ours)).await.unwrap());
        assert!(!hasher.verify("rahasia-salah", Some(&ours)).await.unwrap());
        assert!(!hasher.verify("rahasia-sekali", None).await.unwrap());
        assert!(!hasher.verify("x", Some("not a hash")).await.unwrap());
        assert!(!hasher.verify("x", Some("!")).await.unwrap());
        // The library's own verifier accepts our hashes, and we accept the library's (older
        // stored hashes, other memory costs).
        let standard = Argon2::default();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(standard.verify_password(b"rahasia-sekali", &parsed).is_ok());
        let salt = SaltString::generate(&mut OsRng);
        let theirs = Argon2::new(
            ArgonAlgorithm::Argon2id,
            Version::V0x13,
            Params::new(2048, 2, 1, None).unwrap(),
        )
        .hash_password(b"kata-sandi", &salt)
        .unwrap()
        .to_string();
        assert!(hasher.verify("kata-sandi", Some(&theirs)).await.unwrap());
        assert!(!hasher.verify("kata-sandi!", Some(&theirs)).await.unwrap());
        // Buffers are reused: never more of them than hashes that ran at once.
        let cpus = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        let many = (0..8).map(|_| hasher.verify("rahasia-sekali", Some(&ours)));
        assert!(
            futures_util::future::join_all(many)
                .await
                .into_iter()
                .all(|r| r.unwrap())
        );
        assert!(hasher.buffers.lock().unwrap().len() <= cpus);
    }

    fn keys() -> JwtKeys {
        JwtKeys::new(&Secret::new("k".repeat(40)), &[])
    }

    fn claims(now: DateTime<Utc>) -> Claims {
        JwtKeys::claims(
            "u1",
            Role::Asn,
            "s1",
            None,
            None,
            now,
            std::time::Duration::from_secs(60),
        )
    }

    #[test]
    fn a_token_round_trips() {
        let keys = keys();
        let token = keys.issue(&claims(Utc::now())).expect("signs");
        let back = keys.verify(&token, Utc::now()).expect("verifies");
        assert_eq!(back.sub, "u1");
        assert_eq!(back.role, Role::Asn);
    }

    #[test]
    fn expired_and_future_tokens_are_refused() {
        let keys = keys();
        let old = keys
            .issue(&claims(Utc::now() - chrono::Duration::hours(1)))
            .expect("signs");
        assert!(keys.verify(&old, Utc::now()).is_err());
        let future = keys
            .issue(&claims(Utc::now() + chrono::Duration::hours(1)))
            .expect("signs");
        assert!(keys.verify(&future, Utc::now()).is_err());
    }

    #[test]
    fn a_rotated_key_still_verifies_and_an_unknown_key_does_not() {
        let old_secret = Secret::new("o".repeat(40));
        let old = JwtKeys::new(&old_secret, &[]);
        let token = old.issue(&claims(Utc::now())).expect("signs");
        let rotated = JwtKeys::new(&Secret::new("n".repeat(40)), &[old_secret]);
        assert!(rotated.verify(&token, Utc::now()).is_ok());
        let stranger = JwtKeys::new(&Secret::new("x".repeat(40)), &[]);
        assert!(stranger.verify(&token, Utc::now()).is_err());
    }

    #[test]
    fn alg_none_is_refused() {
        use base64::Engine;
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let keys = keys();
        let real = keys.issue(&claims(Utc::now())).expect("signs");
        let payload = real.split('.').nth(1).expect("payload");
        let header = engine.encode(br#"{"alg":"none","typ":"JWT"}"#);
        assert!(
            keys.verify(&format!("{header}.{payload}."), Utc::now())
                .is_err()
        );
    }

    #[actix_web::test]
    async fn passwords_verify_only_with_the_right_password() {
        let hasher = PasswordHasherConfig::new(1024);
        let hash = hasher.hash("correct horse battery").await.expect("hashes");
        assert!(
            hasher
                .verify("correct horse battery", Some(&hash))
                .await
                .expect("ok")
        );
        assert!(
            !hasher
                .verify("wrong horse battery", Some(&hash))
                .await
                .expect("ok")
        );
        assert!(
            !hasher
                .verify("correct horse battery", None)
                .await
                .expect("ok")
        );
    }
}
