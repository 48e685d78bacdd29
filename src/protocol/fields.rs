//! Reading one field of a request, with an error that names the field and
//! says what it must be.

use simd_json::BorrowedValue;
use simd_json::prelude::*;

use super::RequestError;
use crate::error_code::ErrorCode;
use crate::json;

pub fn bad(message: impl Into<String>) -> RequestError {
    RequestError::new(ErrorCode::BadRequest, message)
}

pub fn string(value: &BorrowedValue, field: &str) -> Result<Option<String>, RequestError> {
    match value.get(field) {
        None => Ok(None),
        Some(v) if v.is_null() => Ok(None),
        Some(v) => match v.as_str() {
            Some(s) => Ok(Some(s.to_string())),
            None => Err(bad(format!("field {field:?} must be a string"))),
        },
    }
}

pub fn required(value: &BorrowedValue, field: &str) -> Result<String, RequestError> {
    string(value, field)?.ok_or_else(|| bad(format!("missing field {field:?}")))
}

pub fn boolean(value: &BorrowedValue, field: &str) -> Result<bool, RequestError> {
    match value.get(field) {
        None => Ok(false),
        Some(v) => v
            .as_bool()
            .ok_or_else(|| bad(format!("field {field:?} must be true or false"))),
    }
}

/// A decimal field: a JSON string (numbers would lose exactness).
pub fn decimal(value: &BorrowedValue, field: &str) -> Result<Option<String>, RequestError> {
    match value.get(field) {
        Some(v) if v.is_number() => Err(bad(format!(
            "field {field:?} must be a decimal string such as \"1.25\", not a JSON number"
        ))),
        _ => string(value, field),
    }
}

/// The JSON text of an `id`: a number or a string.
pub fn id_text(value: &BorrowedValue) -> Result<String, RequestError> {
    if let Some(s) = value.as_str() {
        if s.len() > 128 {
            return Err(bad("field \"id\" must be at most 128 characters"));
        }
        let mut out = String::with_capacity(s.len() + 2);
        json::push_str(&mut out, s);
        return Ok(out);
    }
    if let Some(n) = value.as_i64() {
        return Ok(n.to_string());
    }
    if let Some(n) = value.as_u64() {
        return Ok(n.to_string());
    }
    if let Some(n) = value.as_f64().filter(|f| f.is_finite()) {
        return Ok(n.to_string());
    }
    Err(bad("field \"id\" must be a number or a string"))
}

pub fn string_list(value: &BorrowedValue, field: &str) -> Result<Vec<String>, RequestError> {
    let Some(v) = value.get(field) else {
        return Err(bad(format!("missing field {field:?}")));
    };
    let Some(items) = v.as_array() else {
        return Err(bad(format!("field {field:?} must be a list of strings")));
    };
    if items.is_empty() {
        return Err(bad(format!("field {field:?} must not be empty")));
    }
    items
        .iter()
        .map(|item| item.as_str().map(str::to_string))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| bad(format!("field {field:?} must be a list of strings")))
}
