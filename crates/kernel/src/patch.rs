//! PATCH bodies: an absent field leaves a value alone, an explicit `null` clears it.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// An absent field stays `None`, while an explicit `null` becomes `Some(Value::Null)`, which
/// clears a nullable value. Use with `#[serde(default)]`.
pub fn present<'de, D>(deserializer: D) -> Result<Option<Value>, D::Error>
where
    D: Deserializer<'de>,
{
    Value::deserialize(deserializer).map(Some)
}
