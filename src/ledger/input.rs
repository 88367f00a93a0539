//! The wire formats of ledger input, shared by the HTTP routes and file
//! imports: strict JSON (no trailing data, no positional objects, errors that
//! name the field's path). The bodies pilots and entries are created from
//! live beside what they create (`ledger::entries`, `ledger::pilots`).

use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::error::{ApiError, Code};

/// Parses JSON strictly (no trailing data), mapping serde's errors to codes: bad
/// syntax → 400 `malformed_json`; a wrong type, unknown field, unknown enum value
/// or missing field → 422 naming the field's path.
pub fn parse_json<T: DeserializeOwned>(raw: &[u8]) -> Result<T, ApiError> {
    let mut value = strict_value(raw).map_err(|e| json_error(".", e))?;
    check_shape(&mut value, "", true)?;
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        json_error(&path, e.into_inner())
    })
}

/// One JSON document with nothing after it, as a [`serde_json::Value`], refusing
/// an object that names a key twice (serde would keep the last one silently:
/// `{"amount": "1", …, "amount": "999"}` would store 999).
pub fn strict_value(raw: &[u8]) -> Result<serde_json::Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(raw);
    let StrictValue(value) = StrictValue::deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// A JSON value whose objects have unique keys.
struct StrictValue(serde_json::Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = serde_json::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, serde_json::Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        StrictValue::deserialize(d).map(|v| v.0)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictValue(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(serde_json::Value::Array(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let StrictValue(value) = map.next_value()?;
            if out.contains_key(&key) {
                let shown: String = key.chars().take(64).collect();
                return Err(serde::de::Error::custom(format!("duplicate key `{shown}`")));
            }
            out.insert(key, value);
        }
        Ok(serde_json::Value::Object(out))
    }
}

/// Keys whose values are JSON arrays in some request body; everywhere else an
/// array is refused, because serde would otherwise accept `["Acme", …]` as a
/// struct by position.
const ARRAY_KEYS: [&str; 5] = ["tags", "rates", "stage_history", "bindings", "split"];

/// Refuses positional objects (arrays where an object belongs) and turns whole
/// floats such as `2026.0` into integers, as JSON Schema reads them.
fn check_shape(value: &mut serde_json::Value, path: &str, top: bool) -> Result<(), ApiError> {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                let child = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                if let Value::Array(items) = v {
                    if !ARRAY_KEYS.contains(&k.as_str()) {
                        return Err(ApiError::field(
                            Code::INVALID_FIELD,
                            child,
                            "expected an object or a value, not an array",
                        ));
                    }
                    for (i, item) in items.iter_mut().enumerate() {
                        check_shape(item, &format!("{child}[{i}]"), false)?;
                    }
                } else {
                    check_shape(v, &child, false)?;
                }
            }
            Ok(())
        }
        _ if top => Err(ApiError::field(
            Code::INVALID_FIELD,
            "body",
            "the body must be a JSON object",
        )),
        Value::Array(_) => Err(ApiError::field(
            Code::INVALID_FIELD,
            path.to_owned(),
            "nested arrays are not accepted",
        )),
        Value::Number(n) => {
            if let Some(f) = n.as_f64().filter(|_| n.is_f64()) {
                if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
                    *value = Value::from(f as i64);
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn json_error(path: &str, e: serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    let message = strip_position(&e.to_string());
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            ApiError::new(Code::MALFORMED_JSON, format!("the body is not valid JSON: {message}"))
        }
        Category::Data => {
            let path = if path == "." { String::new() } else { path.to_owned() };
            let named = backticked(&message);
            let join = |name: &str| {
                if path.is_empty() {
                    name.to_owned()
                } else {
                    format!("{path}.{name}")
                }
            };
            if message.starts_with("unknown field") {
                // serde_path_to_error already ends the path with the unknown key.
                let name = named.unwrap_or("?");
                let field = if path == name || path.ends_with(&format!(".{name}")) {
                    path.clone()
                } else {
                    join(name)
                };
                ApiError::field(Code::UNKNOWN_FIELD, field, message)
            } else if message.starts_with("duplicate key") {
                ApiError::field(Code::INVALID_FIELD, join(named.unwrap_or("?")), message)
            } else if message.starts_with("missing field") {
                ApiError::field(Code::MISSING_FIELD, join(named.unwrap_or("?")), message)
            } else {
                let field = if path.is_empty() { "body".to_owned() } else { path };
                ApiError::field(Code::INVALID_FIELD, field, message)
            }
        }
    }
}

/// The first `backticked` name in a serde message.
pub fn backticked(message: &str) -> Option<&str> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(&message[start..start + len])
}

fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}
