//! The suite's matchers: equality (null matches absent) or one operator object.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// `Ok` when every matcher holds, else a description of the first that does not.
pub fn check(actual: &Map<String, Value>, expect: &Map<String, Value>) -> Result<(), String> {
    for (field, matcher) in expect {
        let a = actual.get(field).unwrap_or(&Value::Null);
        if !holds(a, matcher)? {
            return Err(format!("field {field}: got {a}, want {matcher}"));
        }
    }
    Ok(())
}

fn holds(actual: &Value, matcher: &Value) -> Result<bool, String> {
    let Value::Object(m) = matcher else {
        return Ok(equal(actual, matcher));
    };
    if m.len() != 1 {
        return Err(format!(
            "a matcher object has exactly one operator: {matcher}"
        ));
    }
    let (op, v) = m.iter().next().expect("one entry");
    let present = !actual.is_null();
    Ok(match op.as_str() {
        "eq" => equal(actual, v),
        "ne" => !equal(actual, v),
        "gt" => present && compare(actual, v)? == std::cmp::Ordering::Greater,
        "ge" => present && compare(actual, v)? != std::cmp::Ordering::Less,
        "lt" => present && compare(actual, v)? == std::cmp::Ordering::Less,
        "le" => present && compare(actual, v)? != std::cmp::Ordering::Greater,
        "present" => present == (v == &Value::Bool(true)),
        "matches" => {
            let re = v.as_str().ok_or("matches takes a string")?;
            let re = regex::Regex::new(re).map_err(|e| format!("bad pattern {re}: {e}"))?;
            actual.as_str().is_some_and(|s| re.is_match(s))
        }
        other => return Err(format!("unknown matcher operator {other}")),
    })
}

/// Equality: numbers numerically, timestamps as instants, arrays element by element.
pub fn equal(a: &Value, e: &Value) -> bool {
    match (a, e) {
        (_, Value::Null) | (Value::Null, _) => a.is_null() && e.is_null(),
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::String(x), Value::String(y)) => match (instant(x), instant(y)) {
            (Some(x), Some(y)) => x == y,
            _ => x == y,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| equal(x, y))
        }
        _ => a == e,
    }
}

fn compare(a: &Value, v: &Value) -> Result<std::cmp::Ordering, String> {
    if let (Value::Number(x), Value::Number(y)) = (a, v) {
        if let (Some(x), Some(y)) = (x.as_i64(), y.as_i64()) {
            return Ok(x.cmp(&y));
        }
        let (x, y) = (
            x.as_f64().unwrap_or(f64::NAN),
            y.as_f64().unwrap_or(f64::NAN),
        );
        return x
            .partial_cmp(&y)
            .ok_or_else(|| format!("cannot order {a} and {v}"));
    }
    match (a.as_str().and_then(instant), v.as_str().and_then(instant)) {
        (Some(x), Some(y)) => Ok(x.cmp(&y)),
        _ => Err(format!("cannot order {a} and {v}")),
    }
}

fn instant(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}
