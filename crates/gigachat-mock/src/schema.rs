//! A tiny JSON-Schema instance generator: structured-output answers and arguments of
//! forced function calls when nothing is scripted.
//!
//! Strings are `"example"` (or a sample date/time for `format`), numbers and integers `1`,
//! booleans `true`, arrays hold one item, objects carry their `required` properties (all
//! properties when `required` is absent). `enum`/`const` pick the first value; `anyOf` /
//! `oneOf` take the first non-null branch, `allOf` merges, local `$ref`s are resolved.

use serde::Serialize;
use serde_json::ser::PrettyFormatter;
use serde_json::{Map, Value, json};

const MAX_DEPTH: usize = 24;

/// A value satisfying `schema` (best effort; unknown constructs become `"example"`).
pub fn instance(schema: &Value) -> Value {
    generate(schema, schema, 0)
}

/// `instance(schema)` pretty-printed with a 4-space indent, as GigaChat formats JSON answers.
pub fn instance_pretty(schema: &Value) -> String {
    pretty4(&instance(schema))
}

/// Pretty-prints with a 4-space indent.
pub fn pretty4(value: &Value) -> String {
    let mut out = Vec::new();
    let mut ser =
        serde_json::Serializer::with_formatter(&mut out, PrettyFormatter::with_indent(b"    "));
    if value.serialize(&mut ser).is_err() {
        return value.to_string();
    }
    String::from_utf8(out).unwrap_or_else(|_| value.to_string())
}

fn resolve<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    root.pointer(pointer)
}

fn first_type(schema: &Map<String, Value>) -> Option<&str> {
    match schema.get("type")? {
        Value::String(t) => Some(t.as_str()),
        Value::Array(types) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .or(Some("null")),
        _ => None,
    }
}

fn generate(schema: &Value, root: &Value, depth: usize) -> Value {
    let Some(obj) = schema.as_object() else {
        return json!("example");
    };
    if depth > MAX_DEPTH {
        return Value::Null;
    }
    if let Some(target) = obj
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| resolve(root, r))
    {
        return generate(target, root, depth + 1);
    }
    if let Some(c) = obj.get("const") {
        return c.clone();
    }
    if let Some(first) = obj
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
    {
        return first.clone();
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(branches) = obj.get(key).and_then(Value::as_array) {
            let branch = branches
                .iter()
                .find(|b| b.get("type").and_then(Value::as_str) != Some("null"))
                .or(branches.first());
            if let Some(b) = branch {
                return generate(b, root, depth + 1);
            }
        }
    }
    if let Some(parts) = obj.get("allOf").and_then(Value::as_array) {
        let mut merged = Map::new();
        for part in parts {
            match generate(part, root, depth + 1) {
                Value::Object(m) => merged.extend(m),
                other if parts.len() == 1 => return other,
                _ => {}
            }
        }
        return Value::Object(merged);
    }
    let kind = first_type(obj).or_else(|| {
        if obj.contains_key("properties") {
            Some("object")
        } else if obj.contains_key("items") {
            Some("array")
        } else {
            None
        }
    });
    match kind {
        Some("object") => object(obj, root, depth),
        Some("array") => {
            let item = obj
                .get("items")
                .map(|i| generate(i, root, depth + 1))
                .unwrap_or_else(|| json!("example"));
            let n = obj
                .get("minItems")
                .and_then(Value::as_u64)
                .unwrap_or(1)
                .clamp(1, 8);
            Value::Array((0..n).map(|_| item.clone()).collect())
        }
        Some("integer") | Some("number") => number(obj),
        Some("boolean") => Value::Bool(true),
        Some("null") => Value::Null,
        _ => string(obj),
    }
}

fn object(obj: &Map<String, Value>, root: &Value, depth: usize) -> Value {
    let mut out = Map::new();
    let Some(props) = obj.get("properties").and_then(Value::as_object) else {
        return Value::Object(out);
    };
    let required: Option<Vec<&str>> = obj
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect());
    for (name, prop) in props {
        if required.as_ref().is_none_or(|r| r.contains(&name.as_str())) {
            out.insert(name.clone(), generate(prop, root, depth + 1));
        }
    }
    Value::Object(out)
}

fn number(obj: &Map<String, Value>) -> Value {
    let min = obj
        .get("minimum")
        .or_else(|| obj.get("exclusiveMinimum"))
        .and_then(Value::as_f64);
    let max = obj.get("maximum").and_then(Value::as_f64);
    let mut n = 1.0f64;
    if let Some(lo) = min
        && n < lo
    {
        n = lo.ceil();
    }
    if let Some(hi) = max
        && n > hi
    {
        n = hi.floor();
    }
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        json!(n as i64)
    } else {
        json!(n)
    }
}

fn string(obj: &Map<String, Value>) -> Value {
    let s = match obj.get("format").and_then(Value::as_str) {
        Some("date") => "2024-01-01",
        Some("date-time") => "2024-01-01T00:00:00Z",
        Some("time") => "12:00:00",
        Some("email") => "user@example.com",
        Some("uri") | Some("url") => "https://example.com",
        Some("uuid") => "00000000-0000-4000-8000-000000000000",
        _ => "example",
    };
    Value::String(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cassette_schema_pretty_prints_like_gigachat() {
        let schema = json!({"type":"object","properties":{"answer":{"type":"string"},"n":{"type":"integer"}},"required":["answer","n"],"additionalProperties":false});
        assert_eq!(
            instance_pretty(&schema),
            "{\n    \"answer\": \"example\",\n    \"n\": 1\n}"
        );
    }

    #[test]
    fn nested_refs_enums_and_arrays() {
        let schema = json!({
            "type": "object",
            "$defs": {"Item": {"type": "object", "properties": {"ok": {"type": "boolean"}}}},
            "properties": {
                "items": {"type": "array", "items": {"$ref": "#/$defs/Item"}},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "maybe": {"anyOf": [{"type": "null"}, {"type": "number", "minimum": 5}]},
                "when": {"type": ["string", "null"], "format": "date"},
                "skip": {"type": "string"}
            },
            "required": ["items", "unit", "maybe", "when"]
        });
        assert_eq!(
            instance(&schema),
            json!({"items":[{"ok":true}],"unit":"celsius","maybe":5,"when":"2024-01-01"})
        );
    }

    #[test]
    fn no_required_means_all_properties() {
        let schema = json!({"properties": {"a": {"type": "integer"}, "b": {}}});
        assert_eq!(instance(&schema), json!({"a": 1, "b": "example"}));
    }
}
