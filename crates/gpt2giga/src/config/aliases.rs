//! Model aliases (`--proxy.model-aliases`): client model names or glob patterns mapped
//! to a GigaChat model, each with optional per-alias defaults.
//!
//! The value is inline JSON (`{"gpt-4o": "GigaChat-2-Pro"}`) or the path of a JSON
//! (`.json`) or YAML (any other name) file holding the same mapping. An entry is either
//! the GigaChat model's name or an object:
//!
//! ```yaml
//! gpt-4o-mini: GigaChat-2-Pro
//! "claude-*":
//!   model: GigaChat-2-Max
//!   max_tokens: 4096          # when the client sends none
//!   reasoning_effort: high    # when the client sends none (low | medium | high)
//!   temperature: {min: 0.1, max: 1.0}   # the client's value is clamped into this range
//!   api_mode: v2              # the GigaChat chat contract for this alias (v1 | v2)
//! text-embedding-3-small:
//!   embeddings_model: EmbeddingsGigaR   # embeddings requests naming this alias
//! ```
//!
//! Which entry applies to a name ([`ModelAliases::resolve`]): an exact name first;
//! otherwise, among the glob patterns (`*`, `?`, `[…]`) that match, the one with the
//! most literal (non-wildcard) characters; on a tie, the one written first.

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Map, Value};

/// The reasoning efforts GigaChat accepts (`reasoning_effort`, gigachat-api.md §3.1).
pub(crate) const REASONING_EFFORTS: &[&str] = &["low", "medium", "high"];

/// The keys an alias object may carry.
const KEYS: &[&str] = &[
    "model",
    "max_tokens",
    "reasoning_effort",
    "min_temperature",
    "max_temperature",
    "temperature",
    "embeddings_model",
    "api_mode",
];

/// What an alias says: the GigaChat model serving it and its defaults.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AliasSettings {
    /// The GigaChat chat model (`None`: chat requests follow the usual rules).
    pub model: Option<String>,
    /// `max_tokens` sent to GigaChat when the client sends none.
    pub max_tokens: Option<u32>,
    /// `reasoning_effort` sent when the client sends none.
    pub reasoning_effort: Option<String>,
    /// The client's temperature is raised to at least this.
    pub min_temperature: Option<f64>,
    /// The client's temperature is lowered to at most this.
    pub max_temperature: Option<f64>,
    /// The GigaChat embeddings model for embeddings requests naming this alias.
    pub embeddings_model: Option<String>,
    /// The chat contract for this alias (`None`: `--proxy.gigachat-api-mode`).
    pub api_mode: Option<super::ApiMode>,
}

impl AliasSettings {
    /// The model that serves this alias (its chat model, else its embeddings model).
    pub fn served_by(&self) -> Option<&str> {
        self.model.as_deref().or(self.embeddings_model.as_deref())
    }

    /// Clamps a client temperature into the alias's bounds.
    pub fn clamp_temperature(&self, t: f64) -> f64 {
        let t = self.min_temperature.map_or(t, |min| t.max(min));
        self.max_temperature.map_or(t, |max| t.min(max))
    }
}

/// One entry, as written.
#[derive(Clone)]
pub struct Alias {
    /// The name or glob pattern.
    pub name: String,
    pub settings: AliasSettings,
    glob: Option<globset::GlobMatcher>,
    /// Literal characters of a glob (its specificity).
    literals: usize,
}

impl Alias {
    /// The entry is a glob pattern rather than an exact name.
    pub fn is_glob(&self) -> bool {
        self.glob.is_some()
    }
}

impl std::fmt::Debug for Alias {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Alias")
            .field("name", &self.name)
            .field("settings", &self.settings)
            .finish()
    }
}

impl PartialEq for Alias {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.settings == other.settings
    }
}

/// All aliases, in the order they were written.
#[derive(Clone, Default, PartialEq)]
pub struct ModelAliases {
    entries: Vec<Alias>,
    /// Exact names → index into `entries`.
    exact: HashMap<String, usize>,
    /// Glob entries' indexes, most specific first (ties in written order).
    globs: Vec<usize>,
}

/// The entries in written order (the lookup tables follow from them).
impl std::fmt::Debug for ModelAliases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(&self.entries).finish()
    }
}

impl ModelAliases {
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every entry, in written order.
    pub fn iter(&self) -> impl Iterator<Item = &Alias> {
        self.entries.iter()
    }

    /// The entry that applies to `name`, if any (see the module docs for the order).
    pub fn resolve(&self, name: &str) -> Option<&Alias> {
        if let Some(&i) = self.exact.get(name) {
            return self.entries.get(i);
        }
        self.globs
            .iter()
            .filter_map(|&i| self.entries.get(i))
            .find(|a| a.glob.as_ref().is_some_and(|g| g.is_match(name)))
    }

    /// Builds the aliases from a parsed mapping (JSON object, order kept).
    pub fn from_value(value: &Value) -> Result<Self, String> {
        let Value::Object(map) = value else {
            return Err(
                "expected a mapping of client model names (or glob patterns) to GigaChat models"
                    .to_string(),
            );
        };
        let mut out = Self::default();
        for (name, entry) in map {
            let alias = alias(name, entry)?;
            let i = out.entries.len();
            if alias.is_glob() {
                out.globs.push(i);
            } else {
                out.exact.insert(alias.name.clone(), i);
            }
            out.entries.push(alias);
        }
        let entries = &out.entries;
        // Stable: equally specific globs keep their written order.
        out.globs
            .sort_by_key(|&i| std::cmp::Reverse(entries.get(i).map_or(0, |a| a.literals)));
        Ok(out)
    }

    /// Parses the setting's text: inline JSON when it starts with `{` (or `[`), otherwise the
    /// path of a JSON (`.json`) or YAML file.
    pub fn parse_text(text: &str) -> Result<Self, String> {
        let trimmed = text.trim();
        if trimmed.starts_with(['{', '[']) {
            // serde_json's message ends with the line and column.
            let value: Value =
                serde_json::from_str(trimmed).map_err(|e| format!("invalid JSON: {e}"))?;
            return Self::from_value(&value);
        }
        Self::load_file(Path::new(trimmed))
    }

    fn load_file(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the alias file {}: {e}", path.display()))?;
        let is_json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        let value: Value = if is_json {
            serde_json::from_str(&text)
                .map_err(|e| format!("{}: invalid JSON: {e}", path.display()))?
        } else {
            serde_yaml_ng::from_str(&text)
                .map_err(|e| format!("{}: invalid YAML: {e}", path.display()))?
        };
        Self::from_value(&value).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// A compact one-line description for the start-up summary.
    pub fn summary(&self) -> String {
        if self.entries.is_empty() {
            return "-".to_string();
        }
        let items: Vec<String> = self.entries.iter().map(describe).collect();
        format!("{} [{}]", self.entries.len(), items.join("; "))
    }
}

fn describe(a: &Alias) -> String {
    let s = &a.settings;
    let mut out = format!(
        "{} -> {}",
        a.name,
        s.model.as_deref().unwrap_or("(default)")
    );
    if let Some(n) = s.max_tokens {
        out.push_str(&format!(" max_tokens={n}"));
    }
    if let Some(e) = &s.reasoning_effort {
        out.push_str(&format!(" reasoning_effort={e}"));
    }
    if s.min_temperature.is_some() || s.max_temperature.is_some() {
        let b = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| v.to_string());
        out.push_str(&format!(
            " temperature={}..{}",
            b(s.min_temperature),
            b(s.max_temperature)
        ));
    }
    if let Some(m) = &s.embeddings_model {
        out.push_str(&format!(" embeddings_model={m}"));
    }
    if let Some(m) = s.api_mode {
        out.push_str(&format!(" api_mode={m}"));
    }
    out
}

fn alias(name: &str, entry: &Value) -> Result<Alias, String> {
    if name.trim().is_empty() {
        return Err("an alias name must not be empty".to_string());
    }
    let is_glob = name.contains(['*', '?', '[', ']', '{', '}']);
    let glob = if is_glob {
        let g = globset::GlobBuilder::new(name)
            .literal_separator(false)
            .build()
            .map_err(|e| format!("alias {name:?}: bad glob pattern: {e}"))?;
        Some(g.compile_matcher())
    } else {
        None
    };
    let settings = match entry {
        Value::String(model) => AliasSettings {
            model: Some(model_name(name, "model", model)?),
            ..AliasSettings::default()
        },
        Value::Object(map) => settings(name, map)?,
        other => {
            return Err(format!(
                "alias {name:?}: expected a GigaChat model name or an object with \"model\", got {other}"
            ));
        }
    };
    Ok(Alias {
        name: name.to_string(),
        settings,
        literals: if is_glob {
            name.chars()
                .filter(|c| !matches!(c, '*' | '?' | '[' | ']' | '{' | '}' | ','))
                .count()
        } else {
            name.chars().count()
        },
        glob,
    })
}

fn model_name(alias: &str, key: &str, s: &str) -> Result<String, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err(format!("alias {alias:?}: \"{key}\" must not be empty"));
    }
    Ok(s.to_string())
}

fn settings(alias: &str, map: &Map<String, Value>) -> Result<AliasSettings, String> {
    if let Some(key) = map.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(format!(
            "alias {alias:?}: unknown key {key:?} (known keys: {})",
            KEYS.join(", ")
        ));
    }
    let string = |key: &str| -> Result<Option<String>, String> {
        match map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => model_name(alias, key, s).map(Some),
            Some(other) => Err(format!(
                "alias {alias:?}: \"{key}\" must be a string, got {other}"
            )),
        }
    };
    let number = |key: &str, v: Option<&Value>| -> Result<Option<f64>, String> {
        match v {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => match n.as_f64() {
                Some(f) if f.is_finite() && f >= 0.0 => Ok(Some(f)),
                _ => Err(format!(
                    "alias {alias:?}: \"{key}\" must be a number ≥ 0, got {n}"
                )),
            },
            Some(other) => Err(format!(
                "alias {alias:?}: \"{key}\" must be a number, got {other}"
            )),
        }
    };
    let mut s = AliasSettings {
        model: string("model")?,
        reasoning_effort: string("reasoning_effort")?,
        embeddings_model: string("embeddings_model")?,
        ..AliasSettings::default()
    };
    if s.model.is_none() && s.embeddings_model.is_none() {
        return Err(format!(
            "alias {alias:?}: needs \"model\" (a GigaChat model) or \"embeddings_model\""
        ));
    }
    s.max_tokens = match map.get("max_tokens") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64().and_then(|n| u32::try_from(n).ok()) {
            Some(n) if n > 0 => Some(n),
            _ => {
                return Err(format!(
                    "alias {alias:?}: \"max_tokens\" must be a positive integer, got {v}"
                ));
            }
        },
    };
    if let Some(e) = &s.reasoning_effort
        && !REASONING_EFFORTS.contains(&e.as_str())
    {
        return Err(format!(
            "alias {alias:?}: \"reasoning_effort\" must be one of {}, got {e:?}",
            REASONING_EFFORTS.join(", ")
        ));
    }
    s.api_mode = match string("api_mode")? {
        None => None,
        Some(m) => Some(
            m.parse()
                .map_err(|e| format!("alias {alias:?}: \"api_mode\": {e}, got {m:?}"))?,
        ),
    };
    s.min_temperature = number("min_temperature", map.get("min_temperature"))?;
    s.max_temperature = number("max_temperature", map.get("max_temperature"))?;
    match map.get("temperature") {
        None | Some(Value::Null) => {}
        Some(Value::Object(t)) => {
            if s.min_temperature.is_some() || s.max_temperature.is_some() {
                return Err(format!(
                    "alias {alias:?}: give \"temperature\" or \"min_temperature\"/\"max_temperature\", not both"
                ));
            }
            if let Some(key) = t.keys().find(|k| !matches!(k.as_str(), "min" | "max")) {
                return Err(format!(
                    "alias {alias:?}: unknown key {key:?} in \"temperature\" (known keys: min, max)"
                ));
            }
            s.min_temperature = number("temperature.min", t.get("min"))?;
            s.max_temperature = number("temperature.max", t.get("max"))?;
        }
        Some(other) => {
            return Err(format!(
                "alias {alias:?}: \"temperature\" must be an object {{\"min\": …, \"max\": …}}, got {other}"
            ));
        }
    }
    if let (Some(min), Some(max)) = (s.min_temperature, s.max_temperature)
        && min > max
    {
        return Err(format!(
            "alias {alias:?}: the minimum temperature {min} is above the maximum {max}"
        ));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<ModelAliases, String> {
        ModelAliases::parse_text(s)
    }

    fn served<'a>(a: &'a ModelAliases, name: &str) -> Option<&'a str> {
        a.resolve(name).and_then(|a| a.settings.served_by())
    }

    #[test]
    fn exact_names_win_then_the_most_specific_glob_then_written_order() {
        let a = parse(
            r#"{"*": "Any", "gpt-*": "Gpt", "gpt-4o*": "Gpt4o", "gpt-4o-mini": "Mini",
                "c?aude-*": "First", "cl?ude-*": "Second"}"#,
        )
        .unwrap();
        assert_eq!(served(&a, "gpt-4o-mini"), Some("Mini"));
        assert_eq!(served(&a, "gpt-4o-2024"), Some("Gpt4o"));
        assert_eq!(served(&a, "gpt-5"), Some("Gpt"));
        assert_eq!(served(&a, "claude-3"), Some("First"));
        assert_eq!(served(&a, "mistral"), Some("Any"));
        let none = parse(r#"{"gpt-*": "Gpt"}"#).unwrap();
        assert_eq!(none.resolve("claude"), None);
        assert_eq!(none.resolve("GPT-4"), None, "matching is case-sensitive");
    }

    #[test]
    fn object_entries_carry_their_defaults() {
        let a = parse(
            r#"{"claude-*": {"model": "GigaChat-2", "max_tokens": 4096, "reasoning_effort": "high",
                "temperature": {"min": 0.1, "max": 1}},
                "emb": {"embeddings_model": "EmbeddingsGigaR"},
                "t": {"model": "M", "max_temperature": 0.5}}"#,
        )
        .unwrap();
        let c = &a.resolve("claude-x").unwrap().settings;
        assert_eq!(c.model.as_deref(), Some("GigaChat-2"));
        assert_eq!(c.max_tokens, Some(4096));
        assert_eq!(c.reasoning_effort.as_deref(), Some("high"));
        assert_eq!(c.clamp_temperature(0.0), 0.1);
        assert_eq!(c.clamp_temperature(1.7), 1.0);
        assert_eq!(c.clamp_temperature(0.5), 0.5);
        let e = &a.resolve("emb").unwrap().settings;
        assert_eq!(e.model, None);
        assert_eq!(e.served_by(), Some("EmbeddingsGigaR"));
        assert_eq!(a.resolve("t").unwrap().settings.clamp_temperature(2.0), 0.5);
        assert_eq!(
            a.summary(),
            "3 [claude-* -> GigaChat-2 max_tokens=4096 reasoning_effort=high temperature=0.1..1; \
             emb -> (default) embeddings_model=EmbeddingsGigaR; t -> M temperature=-..0.5]"
        );
    }

    #[test]
    fn mistakes_are_named() {
        let cases = [
            (
                r#"{"a": 1"#,
                "invalid JSON: EOF while parsing an object at line 1 column 7",
            ),
            (r#"["a"]"#, "expected a mapping"),
            (r#"{"a": ""}"#, "alias \"a\": \"model\" must not be empty"),
            (
                r#"{"a": {"model": " "}}"#,
                "alias \"a\": \"model\" must not be empty",
            ),
            (r#"{"a": 3}"#, "alias \"a\": expected a GigaChat model name"),
            (
                r#"{"claude-*": {"model": "M", "api_mode": "v3"}}"#,
                "alias \"claude-*\": \"api_mode\": expected v1 or v2, got \"v3\"",
            ),
            (
                r#"{"claude-*": {"model": "M", "mode": "v2"}}"#,
                "alias \"claude-*\": unknown key \"mode\"",
            ),
            (r#"{"a": {"max_tokens": 5}}"#, "needs \"model\""),
            (
                r#"{"a": {"model": "M", "max_tokens": 0}}"#,
                "\"max_tokens\" must be a positive integer, got 0",
            ),
            (
                r#"{"a": {"model": "M", "max_tokens": 1.5}}"#,
                "\"max_tokens\" must be a positive integer",
            ),
            (
                r#"{"a": {"model": "M", "min_temperature": 1, "max_temperature": 0.5}}"#,
                "the minimum temperature 1 is above the maximum 0.5",
            ),
            (
                r#"{"a": {"model": "M", "temperature": {"min": 2, "max": 1}}}"#,
                "the minimum temperature 2 is above the maximum 1",
            ),
            (
                r#"{"a": {"model": "M", "temperature": {"low": 2}}}"#,
                "unknown key \"low\" in \"temperature\"",
            ),
            (
                r#"{"a": {"model": "M", "temperature": 1}}"#,
                "\"temperature\" must be an object",
            ),
            (
                r#"{"a": {"model": "M", "min_temperature": -1}}"#,
                "\"min_temperature\" must be a number ≥ 0",
            ),
            (
                r#"{"a": {"model": "M", "reasoning_effort": "max"}}"#,
                "\"reasoning_effort\" must be one of low, medium, high",
            ),
            (r#"{"gpt-[4": "M"}"#, "alias \"gpt-[4\": bad glob pattern"),
            (r#"{"": "M"}"#, "must not be empty"),
        ];
        for (input, want) in cases {
            let err = parse(input).unwrap_err();
            assert!(err.contains(want), "{input}: {err}");
        }
    }

    #[test]
    fn files_are_json_or_yaml_with_locations_in_errors() {
        let dir = tempfile::tempdir().unwrap();
        let yaml = dir.path().join("a.yaml");
        std::fs::write(
            &yaml,
            "gpt-4o: GigaChat-2-Pro\n\"claude-*\":\n  model: GigaChat-2\n  max_tokens: 10\n",
        )
        .unwrap();
        let a = parse(yaml.to_str().unwrap()).unwrap();
        assert_eq!(served(&a, "gpt-4o"), Some("GigaChat-2-Pro"));
        assert_eq!(a.resolve("claude-3").unwrap().settings.max_tokens, Some(10));

        let json = dir.path().join("a.json");
        std::fs::write(&json, "{\"x\": \"M\"}").unwrap();
        assert_eq!(
            served(&parse(json.to_str().unwrap()).unwrap(), "x"),
            Some("M")
        );

        std::fs::write(&json, "{\n\"x\": }").unwrap();
        let e = parse(json.to_str().unwrap()).unwrap_err();
        assert!(
            e.contains("a.json: invalid JSON: ") && e.contains("line 2"),
            "{e}"
        );

        std::fs::write(&yaml, "a: b\n  c: [d\n").unwrap();
        let e = parse(yaml.to_str().unwrap()).unwrap_err();
        assert!(e.contains("invalid YAML") && e.contains("line 2"), "{e}");

        std::fs::write(&yaml, "a:\n  model: M\n  api_mode: v3\n").unwrap();
        let e = parse(yaml.to_str().unwrap()).unwrap_err();
        assert!(
            e.contains("a.yaml: alias \"a\": \"api_mode\": expected v1 or v2"),
            "{e}"
        );
        std::fs::write(&yaml, "a:\n  model: M\n  api_mode: v2\n").unwrap();
        let a = parse(yaml.to_str().unwrap()).unwrap();
        assert_eq!(
            a.resolve("a").unwrap().settings.api_mode,
            Some(crate::config::ApiMode::V2)
        );

        let e = parse("/nonexistent/aliases.yaml").unwrap_err();
        assert!(
            e.contains("cannot read the alias file /nonexistent/aliases.yaml"),
            "{e}"
        );
    }

    #[test]
    fn the_example_file_parses() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/model-aliases.yaml"
        );
        let a = parse(path).unwrap();
        assert!(!a.is_empty());
        assert!(a.iter().any(Alias::is_glob));
    }
}
