//! Comparing an answer with a recording: byte for byte, except at masked paths, where
//! only the structure must agree.
//!
//! A mask is a `/`-separated path into the JSON body; `*` stands for any key or index
//! (`messages/*/tool_state_id`). At a masked path the emulated value must have the
//! recorded *structure* — the same JSON type; for objects the same keys in the same
//! order, recursively; for arrays the same length, recursively — and its value is then
//! taken as expected. Everything else must be byte-identical, key order and compact
//! spacing included.

use serde_json::Value;

use super::{Kind, RecordedResponse};

fn matches(mask: &str, path: &[String]) -> bool {
    let segments: Vec<&str> = mask.split('/').collect();
    segments.len() == path.len() && segments.iter().zip(path).all(|(m, p)| *m == "*" || m == p)
}

/// `Ok` when `got` has the structure of `recorded` (see the module docs).
pub fn same_structure(recorded: &Value, got: &Value, at: &str) -> Result<(), String> {
    match (recorded, got) {
        (Value::Object(r), Value::Object(g)) => {
            let rk: Vec<&String> = r.keys().collect();
            let gk: Vec<&String> = g.keys().collect();
            if rk != gk {
                return Err(format!("{at}: keys {gk:?}, recorded {rk:?}"));
            }
            r.iter()
                .try_for_each(|(k, v)| same_structure(v, &g[k], &format!("{at}/{k}")))
        }
        (Value::Array(r), Value::Array(g)) => {
            if r.len() != g.len() {
                return Err(format!("{at}: {} items, recorded {}", g.len(), r.len()));
            }
            r.iter()
                .zip(g)
                .enumerate()
                .try_for_each(|(i, (r, g))| same_structure(r, g, &format!("{at}/{i}")))
        }
        (Value::Number(r), Value::Number(g)) if r.is_f64() == g.is_f64() => Ok(()),
        (Value::String(_), Value::String(_))
        | (Value::Bool(_), Value::Bool(_))
        | (Value::Null, Value::Null) => Ok(()),
        _ => Err(format!("{at}: {got}, recorded {recorded}")),
    }
}

/// The recorded value with the emulated one substituted at every masked path (after
/// checking its structure).
pub fn masked(recorded: &Value, got: &Value, masks: &[&str], what: &str) -> Value {
    fn walk(
        r: &Value,
        g: Option<&Value>,
        path: &mut Vec<String>,
        masks: &[&str],
        what: &str,
    ) -> Value {
        if let Some(g) = g
            && masks.iter().any(|m| matches(m, path))
        {
            if let Err(e) = same_structure(r, g, &path.join("/")) {
                panic!("{what}: masked value differs in structure: {e}");
            }
            return g.clone();
        }
        match r {
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| {
                        path.push(k.clone());
                        let out = walk(v, g.and_then(|g| g.get(k)), path, masks, what);
                        path.pop();
                        (k.clone(), out)
                    })
                    .collect(),
            ),
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        path.push(i.to_string());
                        let out = walk(v, g.and_then(|g| g.get(i)), path, masks, what);
                        path.pop();
                        out
                    })
                    .collect(),
            ),
            other => other.clone(),
        }
    }
    walk(recorded, Some(got), &mut Vec::new(), masks, what)
}

fn parse(bytes: &[u8], what: &str) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {}", String::from_utf8_lossy(bytes)))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// A JSON answer against the recorded wire bytes.
pub fn json(got: &[u8], recorded_wire: &[u8], masks: &[&str], what: &str) {
    let (body, newline) = match recorded_wire.strip_suffix(b"\n") {
        Some(body) => (body, "\n"),
        None => (recorded_wire, ""),
    };
    let expected = masked(&parse(body, what), &parse(got, what), masks, what);
    let expected = format!("{}{newline}", serde_json::to_string(&expected).unwrap());
    assert_eq!(text(got), expected, "{what}: body (masked: {masks:?})");
}

/// The frames of an SSE body, without their terminating blank line.
pub fn frames(body: &[u8]) -> Vec<String> {
    let body = text(body);
    assert!(
        body.ends_with("\n\n"),
        "a stream ends with a blank line: {body:?}"
    );
    body[..body.len() - 2]
        .split("\n\n")
        .map(str::to_owned)
        .collect()
}

/// `(event name, data)` of one frame.
pub fn frame_parts(frame: &str) -> (Option<String>, String) {
    let mut event = None;
    let mut data = None;
    for line in frame.lines() {
        if let Some(e) = line.strip_prefix("event: ") {
            event = Some(e.to_string());
        } else if let Some(d) = line.strip_prefix("data: ") {
            data = Some(d.to_string());
        } else {
            panic!("unexpected SSE line {line:?}");
        }
    }
    (event, data.unwrap())
}

fn render(event: &Option<String>, data: &str) -> String {
    match event {
        Some(e) => format!("event: {e}\ndata: {data}\n\n"),
        None => format!("data: {data}\n\n"),
    }
}

/// A stream against the recorded bytes: the same frames, event names and terminator;
/// each `data:` payload byte for byte outside the masks.
pub fn sse(got: &[u8], recorded_wire: &[u8], masks: &[&str], what: &str) {
    let recorded = frames(recorded_wire);
    let emitted = frames(got);
    assert_eq!(
        emitted.len(),
        recorded.len(),
        "{what}: frame count\n--- got ---\n{}\n--- recorded ---\n{}",
        text(got),
        text(recorded_wire)
    );
    let mut expected = String::new();
    for (r, g) in recorded.iter().zip(&emitted) {
        let (event, data) = frame_parts(r);
        if data == "[DONE]" {
            expected.push_str(&render(&event, &data));
            continue;
        }
        let recorded_data = parse(data.as_bytes(), what);
        // The recorded stream is compact JSON: re-rendering it changes nothing.
        assert_eq!(serde_json::to_string(&recorded_data).unwrap(), data);
        let (_, got_data) = frame_parts(g);
        let value = masked(
            &recorded_data,
            &parse(got_data.as_bytes(), what),
            masks,
            what,
        );
        expected.push_str(&render(&event, &serde_json::to_string(&value).unwrap()));
    }
    assert_eq!(text(got), expected, "{what}: stream (masked: {masks:?})");
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

/// A token answer: the shape GigaChat used, compact, with the token and its expiry
/// masked (the recorded ones are scrubbed: `"REDACTED"`, year 2100). Returns the token.
///
/// The April cassettes' `/token` answers were rewritten by the scrubber into the OAuth
/// shape `{"access_token","expires_at"}`; every other `/token` answer (and §1.3) has
/// `{"tok","exp"}`, which the emulator sends — so there only the emulator's shape is
/// checked.
pub fn token_answer(got: &[u8], recorded: &RecordedResponse, kind: Kind, what: &str) -> String {
    let value = parse(got, what);
    let recorded_value = recorded.json();
    let (token, expiry) = match kind {
        Kind::OAuth => ("access_token", "expires_at"),
        _ => ("tok", "exp"),
    };
    assert_eq!(keys(&value), [token, expiry], "{what}: token shape");
    let exp = value[expiry].as_i64().unwrap();
    // Milliseconds in the OAuth shape, seconds in the `/token` shape.
    assert_eq!(
        exp >= 1_000_000_000_000,
        kind == Kind::OAuth,
        "{what}: expiry unit"
    );
    if keys(&recorded_value) == [token, expiry] {
        json(got, &recorded.wire_bytes(), &[token, expiry], what);
    } else {
        assert_eq!(
            kind,
            Kind::PasswordToken,
            "{what}: only /token answers were reshaped"
        );
        assert_eq!(keys(&recorded_value), ["access_token", "expires_at"]);
    }
    value[token].as_str().unwrap().to_string()
}

/// The first difference between two JSON values (objects compared as maps: key order is
/// free in a request), as `path: a != b`.
pub fn difference(a: &Value, b: &Value, at: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys()) {
                match (x.get(k), y.get(k)) {
                    (Some(p), Some(q)) => {
                        if let Some(d) = difference(p, q, &format!("{at}/{k}")) {
                            return Some(d);
                        }
                    }
                    (p, q) => return Some(format!("{at}/{k}: {p:?} != {q:?}")),
                }
            }
            None
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (p, q))| difference(p, q, &format!("{at}/{i}"))),
        _ => (a != b).then(|| format!("{at}: {a} != {b}")),
    }
}
