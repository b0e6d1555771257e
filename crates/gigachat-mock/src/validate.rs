//! Request validation with GigaChat's status codes and texts (§3.2, §3.3, §4.2–§4.5, §8).
//!
//! Texts marked [U] in comments are not documented anywhere; they are plausible
//! stand-ins with the documented status code.

use serde_json::{Map, Value};

use crate::http::ApiError;
use crate::wire::common::CustomFunction;
use crate::wire::{v1, v2};

pub(crate) const SYSTEM_FIRST: &str = "system message must be the first message";
pub(crate) const CALL_WITHOUT_RESULT: &str =
    "every assistant function call must have a result in history";
pub(crate) const RESULT_WITHOUT_CALL: &str =
    "every assistant function result must have an assistant function call in history";

/// Built-in v2 tool keys (§4.3).
pub(crate) const BUILTIN_TOOLS: [&str; 5] = [
    "web_search",
    "url_content_extraction",
    "code_interpreter",
    "image_generate",
    "model_3d_generate",
];

/// `^[A-Za-z][A-Za-z0-9_.-]*$`
pub(crate) fn valid_function_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// Function specifications: name pattern (§4.5) and nested objects without
/// `properties` (§9.9).
pub(crate) fn check_functions(functions: &[&CustomFunction]) -> Result<(), ApiError> {
    let bad: Vec<&str> = functions
        .iter()
        .map(|f| f.name.as_str())
        .filter(|n| !valid_function_name(n))
        .collect();
    if !bad.is_empty() {
        return Err(ApiError::invalid_params(format!(
            "Invalid function names. Only Latin letters (A-Z or a-z), underscore (_), hyphen (-), dot (.) and digits (not leading) are allowed.: [{}]",
            bad.join(", ")
        )));
    }
    for f in functions {
        if let Some(props) = f
            .parameters
            .as_ref()
            .and_then(|p| p.get("properties"))
            .and_then(Value::as_object)
        {
            check_properties(props, "properties")?;
        }
    }
    Ok(())
}

fn is_object_type(schema: &Map<String, Value>) -> bool {
    match schema.get("type") {
        Some(Value::String(t)) => t == "object",
        Some(Value::Array(ts)) => ts.iter().any(|t| t == "object"),
        _ => false,
    }
}

fn check_properties(props: &Map<String, Value>, path: &str) -> Result<(), ApiError> {
    for (name, prop) in props {
        check_schema_node(prop, &format!("{path}.{name}"))?;
    }
    Ok(())
}

fn check_schema_node(node: &Value, path: &str) -> Result<(), ApiError> {
    let Some(obj) = node.as_object() else {
        return Ok(());
    };
    if is_object_type(obj) {
        match obj.get("properties").and_then(Value::as_object) {
            Some(props) => check_properties(props, &format!("{path}.properties"))?,
            None => {
                return Err(ApiError::new(
                    axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                    format!("Field '{path}.properties' is missing"),
                ));
            }
        }
    }
    if let Some(items) = obj.get("items") {
        check_schema_node(items, &format!("{path}.items"))?;
    }
    Ok(())
}

/// `temperature` in (0, 2] (an assumption, togglable) and `repetition_penalty` > 0.
pub(crate) fn check_sampling(
    temperature: Option<f64>,
    repetition_penalty: Option<f64>,
    validate_temperature: bool,
) -> Result<(), ApiError> {
    if let Some(rp) = repetition_penalty
        && rp <= 0.0
    {
        return Err(ApiError::invalid_params(
            "repetition_penalty must be in range (0, +inf)",
        ));
    }
    if validate_temperature
        && let Some(t) = temperature
        && !(t > 0.0 && t <= 2.0)
    {
        return Err(ApiError::invalid_params(
            "temperature must be in range (0, 2]",
        ));
    }
    Ok(())
}

/// At most one system message, and only first.
pub(crate) fn check_system_first<'a>(
    mut roles: impl Iterator<Item = &'a str>,
) -> Result<(), ApiError> {
    if roles.by_ref().skip(1).any(|r| r == "system") {
        return Err(ApiError::invalid_params(SYSTEM_FIRST));
    }
    Ok(())
}

/// v1 history rules: system first, function results paired with calls, `name` on
/// function messages, function content a JSON object.
pub(crate) fn check_v1_messages(messages: &[v1::Message]) -> Result<(), ApiError> {
    if messages.is_empty() {
        // [U] text
        return Err(ApiError::invalid_params("messages must not be empty"));
    }
    check_system_first(messages.iter().map(|m| m.role.as_str()))?;
    for (i, m) in messages.iter().enumerate() {
        match m.role {
            v1::Role::Function => {
                let Some(name) = m.name.as_deref().filter(|n| !n.is_empty()) else {
                    // [U] text
                    return Err(ApiError::invalid_params(
                        "function message must have a name",
                    ));
                };
                let called = i
                    .checked_sub(1)
                    .and_then(|p| messages.get(p))
                    .and_then(|p| p.function_call.as_ref())
                    .is_some_and(|c| c.name == name);
                if !called {
                    return Err(ApiError::invalid_params(RESULT_WITHOUT_CALL));
                }
                let is_object =
                    serde_json::from_str::<Value>(&m.content).is_ok_and(|v| v.is_object());
                if !is_object {
                    // [U] text
                    return Err(ApiError::invalid_params(
                        "function result content must be a JSON object",
                    ));
                }
            }
            v1::Role::Assistant => {
                if let Some(call) = &m.function_call {
                    let answered = messages.get(i + 1).is_some_and(|n| {
                        n.role == v1::Role::Function && n.name.as_deref() == Some(&call.name)
                    });
                    if !answered {
                        return Err(ApiError::invalid_params(CALL_WITHOUT_RESULT));
                    }
                    if !call.arguments.is_object() {
                        return Err(ApiError::invalid_json());
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// `response_format.type` and its companion field.
pub(crate) fn check_response_format(
    kind: &str,
    has_schema: bool,
    regex: Option<&str>,
    allow_regex: bool,
) -> Result<(), ApiError> {
    match kind {
        "text" => Ok(()),
        "json_schema" if has_schema => Ok(()),
        "json_schema" => Err(ApiError::bad_request(
            "Empty schema with json format type is not supported",
        )),
        // [U] text
        "regex" if allow_regex && regex.is_some_and(|r| !r.is_empty()) => Ok(()),
        "regex" if allow_regex => Err(ApiError::bad_request(
            "Empty regex with regex format type is not supported",
        )),
        other => Err(ApiError::bad_request(format!(
            "Unknown type \"{other}\" in response_format"
        ))),
    }
}

/// v2 shape checks on the raw JSON, before typed parsing: content must be an array of
/// parts, `function_call.arguments` an object (a JSON string is converted when
/// `strict_arguments` is off), `function_result.name` present and a string `result`
/// valid JSON; `tools` entries known and available.
pub(crate) fn check_v2_raw(
    body: &mut Value,
    strict_arguments: bool,
    unavailable: &[String],
) -> Result<(), ApiError> {
    let obj = body.as_object_mut().ok_or_else(ApiError::invalid_json)?;
    let messages = obj
        .get_mut("messages")
        .and_then(Value::as_array_mut)
        .ok_or_else(ApiError::invalid_json)?;
    for msg in messages.iter_mut() {
        let parts = msg
            .get_mut("content")
            .map(|c| c.as_array_mut().ok_or_else(ApiError::invalid_json))
            .transpose()?;
        for part in parts.into_iter().flatten() {
            let part = part.as_object_mut().ok_or_else(ApiError::invalid_json)?;
            if let Some(call) = part.get_mut("function_call") {
                check_v2_arguments(call, strict_arguments)?;
            }
            if let Some(result) = part.get("function_result") {
                check_v2_result(result)?;
            }
        }
    }
    if let Some(tools) = obj.get("tools") {
        let tools = tools.as_array().ok_or_else(ApiError::invalid_json)?;
        for tool in tools {
            let tool = tool.as_object().ok_or_else(ApiError::invalid_json)?;
            if tool.len() != 1 {
                return Err(ApiError::invalid_json());
            }
            for key in tool.keys() {
                if key != "functions" && !BUILTIN_TOOLS.contains(&key.as_str()) {
                    return Err(ApiError::new(
                        axum::http::StatusCode::NOT_FOUND,
                        format!("Unknown tool {key}"),
                    ));
                }
                if unavailable.iter().any(|u| u == key) {
                    return Err(ApiError::new(
                        axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                        format!("Tool {key} is unavailable"),
                    ));
                }
            }
        }
    }
    Ok(())
}

fn check_v2_arguments(call: &mut Value, strict: bool) -> Result<(), ApiError> {
    let call = call.as_object_mut().ok_or_else(ApiError::invalid_json)?;
    match call.get("arguments") {
        None | Some(Value::Object(_)) => Ok(()),
        Some(Value::String(s)) if !strict => {
            let parsed: Value = serde_json::from_str(s).map_err(|_| ApiError::invalid_json())?;
            if !parsed.is_object() {
                return Err(ApiError::invalid_json());
            }
            call.insert("arguments".into(), parsed);
            Ok(())
        }
        Some(_) => Err(ApiError::invalid_json()),
    }
}

fn check_v2_result(result: &Value) -> Result<(), ApiError> {
    let result = result.as_object().ok_or_else(ApiError::invalid_json)?;
    let name = result.get("name").and_then(Value::as_str).unwrap_or("");
    if name.is_empty() {
        return Err(ApiError::invalid_json());
    }
    match result.get("result") {
        None => Err(ApiError::invalid_json()),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(_) => Ok(()),
            Err(e) => Err(ApiError::bad_request(format!(
                "invalid function result for function read json string {s}, error: JSON parse error at line {} column {}",
                e.line(),
                e.column()
            ))),
        },
        Some(_) => Ok(()),
    }
}

/// v2 history rules: system first; every function result answers a pending call and
/// every call is answered before the next non-result message.
pub(crate) fn check_v2_messages(messages: &[v2::Message]) -> Result<(), ApiError> {
    if messages.is_empty() {
        // [U] text
        return Err(ApiError::invalid_params("messages must not be empty"));
    }
    for m in messages {
        if !matches!(
            m.role.as_str(),
            "system" | "user" | "assistant" | "tool" | "function"
        ) {
            return Err(ApiError::invalid_json());
        }
    }
    check_system_first(messages.iter().map(|m| m.role.as_str()))?;
    let mut pending: Vec<&str> = Vec::new();
    for m in messages {
        let is_result_role = matches!(m.role.as_str(), "tool" | "function");
        if !is_result_role && !pending.is_empty() {
            return Err(ApiError::invalid_params(CALL_WITHOUT_RESULT));
        }
        for part in &m.content {
            if let Some(call) = &part.function_call
                && m.role == "assistant"
            {
                pending.push(&call.name);
            }
            if let Some(res) = &part.function_result {
                match pending.iter().position(|p| *p == res.name) {
                    Some(pos) => {
                        pending.remove(pos);
                    }
                    None => return Err(ApiError::invalid_params(RESULT_WITHOUT_CALL)),
                }
            }
        }
    }
    if !pending.is_empty() {
        return Err(ApiError::invalid_params(CALL_WITHOUT_RESULT));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;
    use serde_json::json;

    fn func(name: &str, params: Value) -> CustomFunction {
        serde_json::from_value(json!({"name": name, "parameters": params})).unwrap()
    }

    #[test]
    fn function_names() {
        assert!(valid_function_name("get_weather.v2-x"));
        assert!(!valid_function_name("1abc"));
        assert!(!valid_function_name("_x"));
        assert!(!valid_function_name("Плохое_Имя"));
        let err = check_functions(&[&func(
            "Плохое_Имя",
            json!({"type":"object","properties":{}}),
        )])
        .unwrap_err();
        assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            err.message.ends_with("allowed.: [Плохое_Имя]"),
            "{}",
            err.message
        );
    }

    #[test]
    fn nested_object_needs_properties() {
        let f = func(
            "f",
            json!({"type":"object","properties":{"filter":{"type":"object"}}}),
        );
        let err = check_functions(&[&f]).unwrap_err();
        assert_eq!(
            err.message,
            "Field 'properties.filter.properties' is missing"
        );
        let f = func(
            "f",
            json!({"type":"object","properties":{"a":{"type":"object","properties":{"b":{"type":"object"}}}}}),
        );
        assert_eq!(
            check_functions(&[&f]).unwrap_err().message,
            "Field 'properties.a.properties.b.properties' is missing"
        );
        let ok = func("f", json!({"type":"object"}));
        assert!(check_functions(&[&ok]).is_ok());
    }

    #[test]
    fn sampling_ranges() {
        assert!(check_sampling(Some(0.5), Some(1.0), true).is_ok());
        assert_eq!(
            check_sampling(None, Some(0.0), true).unwrap_err().message,
            "Invalid params: repetition_penalty must be in range (0, +inf)"
        );
        assert_eq!(
            check_sampling(Some(0.0), None, true).unwrap_err().message,
            "Invalid params: temperature must be in range (0, 2]"
        );
        assert!(check_sampling(Some(0.0), None, false).is_ok());
    }

    #[test]
    fn v1_history_rules() {
        let msgs = |v: Value| -> Vec<v1::Message> { serde_json::from_value(v).unwrap() };
        let err = check_v1_messages(&msgs(json!([
            {"role":"user","content":"a"},{"role":"system","content":"s"}
        ])))
        .unwrap_err();
        assert_eq!(
            err.message,
            "Invalid params: system message must be the first message"
        );
        let err = check_v1_messages(&msgs(json!([
            {"role":"user","content":"a"},
            {"role":"assistant","content":"","function_call":{"name":"f","arguments":{}}},
            {"role":"user","content":"b"}
        ])))
        .unwrap_err();
        assert!(err.message.ends_with(CALL_WITHOUT_RESULT));
        let err = check_v1_messages(&msgs(json!([
            {"role":"user","content":"a"},
            {"role":"assistant","content":"","function_call":{"name":"f","arguments":{}}},
            {"role":"function","name":"f","content":"42"}
        ])))
        .unwrap_err();
        assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            check_v1_messages(&msgs(json!([
                {"role":"system","content":"s"},
                {"role":"user","content":"a"},
                {"role":"assistant","content":"","function_call":{"name":"f","arguments":{}}},
                {"role":"function","name":"f","content":"{\"a\":1}"}
            ])))
            .is_ok()
        );
    }

    #[test]
    fn response_formats() {
        assert!(check_response_format("text", false, None, false).is_ok());
        assert_eq!(
            check_response_format("json", false, None, true)
                .unwrap_err()
                .message,
            "Unknown type \"json\" in response_format"
        );
        assert_eq!(
            check_response_format("regex", false, Some("x"), false)
                .unwrap_err()
                .message,
            "Unknown type \"regex\" in response_format"
        );
        assert!(check_response_format("regex", false, Some("x"), true).is_ok());
    }

    #[test]
    fn v2_raw_shapes() {
        let mut body = json!({"messages":[{"role":"user","content":"plain"}]});
        assert_eq!(
            check_v2_raw(&mut body, true, &[]).unwrap_err().message,
            crate::http::INVALID_JSON
        );
        let mut body = json!({"messages":[{"role":"assistant","content":[{"function_call":{"name":"f","arguments":"{\"a\":1}"}}]}]});
        assert!(check_v2_raw(&mut body.clone(), true, &[]).is_err());
        check_v2_raw(&mut body, false, &[]).unwrap();
        assert_eq!(
            body["messages"][0]["content"][0]["function_call"]["arguments"],
            json!({"a":1})
        );
        let mut body = json!({"messages":[],"tools":[{"spreadsheet":{}}]});
        let err = check_v2_raw(&mut body, true, &[]).unwrap_err();
        assert_eq!(
            (err.status, err.message.as_str()),
            (StatusCode::NOT_FOUND, "Unknown tool spreadsheet")
        );
        let mut body = json!({"messages":[],"tools":[{"code_interpreter":{}}]});
        let err = check_v2_raw(&mut body, true, &["code_interpreter".into()]).unwrap_err();
        assert_eq!(err.message, "Tool code_interpreter is unavailable");
        let mut body = json!({"messages":[{"role":"tool","content":[{"function_result":{"name":"f","result":"oops"}}]}]});
        let err = check_v2_raw(&mut body, true, &[]).unwrap_err();
        assert_eq!(
            err.message,
            "invalid function result for function read json string oops, error: JSON parse error at line 1 column 1"
        );
        let mut body =
            json!({"messages":[{"role":"tool","content":[{"function_result":{"result":{}}}]}]});
        assert!(check_v2_raw(&mut body, true, &[]).is_err());
    }
}
