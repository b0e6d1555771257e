//! JSON-Schema normalisation for GigaChat function parameters.
//!
//! GigaChat accepts a plain subset of JSON Schema (wire reference §9.9). The rules:
//! * `$ref` into `$defs` / `definitions` is inlined (cycles are cut to `{"type":"object"}`);
//!   `$defs`, `definitions`, `$schema`, `$id` are removed;
//! * `anyOf` / `oneOf` collapse to their first non-null branch; `allOf` is merged;
//! * type arrays (`["string","null"]`) collapse to the first non-null type;
//! * `enum` keeps only string values (dropped entirely if none is left);
//! * `format` is kept only for `date`, `date-time`, `time`;
//! * every `object` gets `properties` (`{}` if missing), every `array` gets `items`
//!   (`{"type":"string"}` if missing); a property without `type` gets one inferred from
//!   its other keywords (`properties` → object, `items` → array, `enum` → string, else
//!   string);
//! * `required` keeps only names that exist in `properties`;
//! * keywords GigaChat rejects or ignores (`additionalProperties`, `const`, `default`,
//!   `examples`, `title` below the root, `pattern`, `minLength`…) are kept only when
//!   harmless; the known-bad ones listed in [`DROPPED`] are removed.
//!
//! The top level is always an object schema.

use serde_json::{Map, Value, json};

const DROPPED: &[&str] = &[
    "$schema",
    "$id",
    "$defs",
    "definitions",
    "$comment",
    "additionalProperties",
    "unevaluatedProperties",
    "patternProperties",
    "propertyNames",
    "const",
    "not",
    "if",
    "then",
    "else",
    "dependentRequired",
    "dependentSchemas",
    "examples",
    "readOnly",
    "writeOnly",
    "deprecated",
    "contentEncoding",
    "contentMediaType",
    "strict",
];

const KEPT_FORMATS: &[&str] = &["date", "date-time", "time"];
const MAX_DEPTH: usize = 32;
/// Schema nodes produced at most per schema. `$ref`s may point at the same definition
/// many times, so a small input can stand for an exponentially large tree
/// (`a1 = {x: a0, y: a0}`, `a2 = {x: a1, y: a1}`, …); past this budget the rest is cut
/// to empty object schemas.
const MAX_NODES: usize = 10_000;

/// The walk's state: the `$ref` names being expanded (to cut cycles) and the node
/// budget left.
struct Walk {
    stack: Vec<String>,
    nodes_left: usize,
}

impl Walk {
    fn new() -> Self {
        Self {
            stack: Vec::new(),
            nodes_left: MAX_NODES,
        }
    }
}

impl std::ops::Deref for Walk {
    type Target = Vec<String>;
    fn deref(&self) -> &Vec<String> {
        &self.stack
    }
}

impl std::ops::DerefMut for Walk {
    fn deref_mut(&mut self) -> &mut Vec<String> {
        &mut self.stack
    }
}

/// Normalises a tool's parameter schema; `None` becomes an empty object schema.
pub(crate) fn normalize_parameters(schema: Option<&Value>) -> Value {
    let Some(schema) = schema else {
        return empty_object();
    };
    let defs = collect_defs(schema);
    let mut out = normalize(schema, &defs, 0, &mut Walk::new());
    if out.get("type").and_then(Value::as_str) != Some("object") {
        // GigaChat needs an object at the top: wrap anything else.
        out = json!({"type": "object", "properties": {"value": out}, "required": ["value"]});
    }
    out
}

/// A response-format schema gets the same treatment (GigaChat validates it alike).
pub(crate) fn normalize_schema(schema: &Value) -> Value {
    let defs = collect_defs(schema);
    normalize(schema, &defs, 0, &mut Walk::new())
}

fn empty_object() -> Value {
    json!({"type": "object", "properties": {}})
}

fn collect_defs(schema: &Value) -> Map<String, Value> {
    let mut defs = Map::new();
    for key in ["$defs", "definitions"] {
        if let Some(Value::Object(m)) = schema.get(key) {
            for (k, v) in m {
                defs.insert(k.clone(), v.clone());
            }
        }
    }
    defs
}

fn resolve_ref<'a>(reference: &str, defs: &'a Map<String, Value>) -> Option<(&'a str, &'a Value)> {
    let name = reference
        .strip_prefix("#/$defs/")
        .or_else(|| reference.strip_prefix("#/definitions/"))?;
    defs.get_key_value(name).map(|(k, v)| (k.as_str(), v))
}

fn normalize(schema: &Value, defs: &Map<String, Value>, depth: usize, stack: &mut Walk) -> Value {
    let Value::Object(obj) = schema else {
        // `true` / `{}`-like schemas: accept any string.
        return json!({"type": "string"});
    };
    if depth > MAX_DEPTH || stack.nodes_left == 0 {
        return json!({"type": "object", "properties": {}});
    }
    stack.nodes_left -= 1;
    if let Some(Value::String(r)) = obj.get("$ref") {
        let Some((name, target)) = resolve_ref(r, defs) else {
            return json!({"type": "object", "properties": {}});
        };
        if stack.iter().any(|s| s == name) {
            return json!({"type": "object", "properties": {}});
        }
        stack.push(name.to_string());
        let mut merged = match normalize(target, defs, depth + 1, stack) {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        stack.pop();
        // Sibling keywords (e.g. a description next to `$ref`) win.
        for (k, v) in obj {
            if k != "$ref" && (k == "description" || k == "title") {
                merged.insert(k.clone(), v.clone());
            }
        }
        return Value::Object(merged);
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(branches)) = obj.get(key) {
            let chosen = branches
                .iter()
                .find(|b| !is_null_schema(b))
                .or(branches.first());
            let mut base = match chosen {
                Some(b) => match normalize(b, defs, depth + 1, stack) {
                    Value::Object(m) => m,
                    _ => Map::new(),
                },
                None => Map::new(),
            };
            for (k, v) in obj {
                if k != key && !DROPPED.contains(&k.as_str()) && !base.contains_key(k) {
                    base.insert(k.clone(), v.clone());
                }
            }
            return normalize(&Value::Object(base), defs, depth + 1, stack);
        }
    }
    if let Some(Value::Array(parts)) = obj.get("allOf") {
        let mut merged = Map::new();
        for p in parts {
            if let Value::Object(m) = normalize(p, defs, depth + 1, stack) {
                merge_into(&mut merged, m);
            }
        }
        for (k, v) in obj {
            if k != "allOf" {
                merge_into(&mut merged, Map::from_iter([(k.clone(), v.clone())]));
            }
        }
        return normalize(&Value::Object(merged), defs, depth + 1, stack);
    }

    let mut out = Map::new();
    let ty = infer_type(obj);
    for (k, v) in obj {
        if DROPPED.contains(&k.as_str()) {
            continue;
        }
        match k.as_str() {
            "type" => {}
            "properties" => {
                let mut props = Map::new();
                if let Value::Object(p) = v {
                    for (name, sub) in p {
                        props.insert(name.clone(), normalize(sub, defs, depth + 1, stack));
                    }
                }
                out.insert(k.clone(), Value::Object(props));
            }
            "items" => {
                let items = match v {
                    Value::Array(tuple) => tuple.first().cloned().unwrap_or(json!({})),
                    other => other.clone(),
                };
                out.insert(k.clone(), normalize(&items, defs, depth + 1, stack));
            }
            "enum" => {
                let strings: Vec<Value> = match v {
                    Value::Array(a) => a.iter().filter(|x| x.is_string()).cloned().collect(),
                    _ => vec![],
                };
                if !strings.is_empty() {
                    out.insert(k.clone(), Value::Array(strings));
                }
            }
            "format" => {
                if v.as_str().is_some_and(|f| KEPT_FORMATS.contains(&f)) {
                    out.insert(k.clone(), v.clone());
                }
            }
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    out.insert("type".into(), Value::String(ty.to_string()));
    // Keep `type` first, as humans and GigaChat's examples write it.
    let mut ordered = Map::new();
    if let Some(t) = out.remove("type") {
        ordered.insert("type".into(), t);
    }
    ordered.extend(out);
    let mut out = ordered;
    match ty {
        "object" => {
            if !out.contains_key("properties") {
                out.insert("properties".into(), Value::Object(Map::new()));
            }
            let names: Vec<String> = out
                .get("properties")
                .and_then(Value::as_object)
                .map(|p| p.keys().cloned().collect())
                .unwrap_or_default();
            if let Some(Value::Array(req)) = out.get_mut("required") {
                req.retain(|r| r.as_str().is_some_and(|r| names.iter().any(|n| n == r)));
            } else if out.contains_key("required") {
                out.remove("required");
            }
        }
        "array" if !out.contains_key("items") => {
            out.insert("items".into(), json!({"type": "string"}));
        }
        _ => {}
    }
    Value::Object(out)
}

fn merge_into(into: &mut Map<String, Value>, from: Map<String, Value>) {
    for (k, v) in from {
        match (into.get_mut(&k), v) {
            (Some(Value::Object(a)), Value::Object(b)) if k == "properties" => {
                for (pk, pv) in b {
                    a.insert(pk, pv);
                }
            }
            (Some(Value::Array(a)), Value::Array(b)) if k == "required" => {
                for r in b {
                    if !a.contains(&r) {
                        a.push(r);
                    }
                }
            }
            (Some(_), _) => {}
            (None, v) => {
                into.insert(k, v);
            }
        }
    }
}

fn is_null_schema(v: &Value) -> bool {
    v.get("type").and_then(Value::as_str) == Some("null")
}

fn infer_type(obj: &Map<String, Value>) -> &'static str {
    let declared = match obj.get("type") {
        Some(Value::String(s)) => Some(s.as_str()),
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).find(|t| *t != "null"),
        _ => None,
    };
    match declared {
        Some("object") => "object",
        Some("array") => "array",
        Some("string") => "string",
        Some("integer") => "integer",
        Some("number") => "number",
        Some("boolean") => "boolean",
        _ => {
            if obj.contains_key("properties") {
                "object"
            } else if obj.contains_key("items") {
                "array"
            } else {
                "string"
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_schema_is_an_empty_object() {
        assert_eq!(
            normalize_parameters(None),
            json!({"type":"object","properties":{}})
        );
    }

    #[test]
    fn refs_are_inlined_and_defs_removed() {
        let s = json!({
            "type": "object",
            "$defs": {"Pt": {"type": "object", "properties": {"x": {"type": "number"}}, "required": ["x"]}},
            "properties": {"p": {"$ref": "#/$defs/Pt", "description": "a point"}},
            "required": ["p", "ghost"]
        });
        let n = normalize_parameters(Some(&s));
        assert_eq!(
            n,
            json!({"type":"object","properties":{"p":{"type":"object","properties":{"x":{"type":"number"}},"required":["x"],"description":"a point"}},"required":["p"]})
        );
    }

    #[test]
    fn recursive_refs_are_cut() {
        let s = json!({"$defs": {"N": {"type":"object","properties":{"next":{"$ref":"#/$defs/N"}}}}, "$ref": "#/$defs/N"});
        let n = normalize_parameters(Some(&s));
        assert_eq!(
            n["properties"]["next"],
            json!({"type":"object","properties":{}})
        );
    }

    #[test]
    fn nullable_unions_collapse() {
        let s = json!({"type":"object","properties":{
            "a": {"anyOf": [{"type":"null"}, {"type":"integer"}], "description": "d"},
            "b": {"type": ["string", "null"]},
            "c": {"oneOf": [{"type":"array"}]}
        }});
        let n = normalize_parameters(Some(&s));
        assert_eq!(
            n["properties"]["a"],
            json!({"type":"integer","description":"d"})
        );
        assert_eq!(n["properties"]["b"], json!({"type":"string"}));
        assert_eq!(
            n["properties"]["c"],
            json!({"type":"array","items":{"type":"string"}})
        );
    }

    #[test]
    fn all_of_merges() {
        let s = json!({"allOf": [
            {"type":"object","properties":{"a":{"type":"string"}},"required":["a"]},
            {"properties":{"b":{"type":"integer"}},"required":["b"]}
        ]});
        let n = normalize_parameters(Some(&s));
        assert_eq!(n["properties"]["b"], json!({"type":"integer"}));
        assert_eq!(n["required"], json!(["a", "b"]));
    }

    #[test]
    fn nested_objects_get_properties_and_types_are_inferred() {
        let s = json!({"type":"object","properties":{
            "o": {"type":"object"},
            "e": {"enum": ["x", 1, "y"]},
            "i": {"items": {"type":"integer"}},
            "f": {"type":"string","format":"uri"},
            "d": {"type":"string","format":"date"}
        },"additionalProperties": false});
        let n = normalize_parameters(Some(&s));
        assert_eq!(
            n["properties"]["o"],
            json!({"type":"object","properties":{}})
        );
        assert_eq!(
            n["properties"]["e"],
            json!({"type":"string","enum":["x","y"]})
        );
        assert_eq!(
            n["properties"]["i"],
            json!({"type":"array","items":{"type":"integer"}})
        );
        assert_eq!(n["properties"]["f"], json!({"type":"string"}));
        assert_eq!(
            n["properties"]["d"],
            json!({"type":"string","format":"date"})
        );
        assert!(n.get("additionalProperties").is_none());
    }

    #[test]
    fn non_object_top_level_is_wrapped() {
        let n = normalize_parameters(Some(&json!({"type":"string"})));
        assert_eq!(n["properties"]["value"], json!({"type":"string"}));
    }

    #[test]
    fn shared_refs_cannot_blow_up() {
        let mut defs = Map::new();
        defs.insert("a0".into(), json!({"type":"string"}));
        for i in 1..40 {
            let r = json!({"$ref": format!("#/$defs/a{}", i - 1)});
            defs.insert(
                format!("a{i}"),
                json!({"type":"object","properties":{"x": r, "y": r, "z": r}}),
            );
        }
        let s = json!({"$defs": defs, "$ref": "#/$defs/a39"});
        let started = std::time::Instant::now();
        let n = normalize_parameters(Some(&s));
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        assert_eq!(n["type"], "object");
        assert!(n.to_string().len() < 2_000_000);
    }

    #[test]
    fn hostile_depth_terminates() {
        let mut s = json!({"type":"string"});
        for _ in 0..200 {
            s = json!({"type":"object","properties":{"x": s}});
        }
        let n = normalize_parameters(Some(&s));
        assert_eq!(n["type"], "object");
    }
}
