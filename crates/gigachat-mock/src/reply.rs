//! Choosing and shaping the model's answer, independent of the v1/v2 wire format.
//!
//! `plan` picks what to say: a matching rule, else the queued reply, else the default:
//!
//! 1. the last message is a function result → a text naming the function and its result;
//! 2. a forced function (`function_call: {"name"}` / `tool_config.function_name`) → a call
//!    with arguments generated from its `parameters` schema (plus `partial_arguments`);
//!    a forced built-in (`tool_name`, v1 `text2image`) → that built-in's canned output;
//! 3. functions are offered (mode not `none`) and the last user text mentions one by name
//!    (case-insensitive) → a call to it;
//! 4. only built-in tools are offered (mode `auto`) → the first built-in's output;
//! 5. `response_format` json_schema → a schema instance, pretty-printed (4 spaces);
//!    regex → a matching sample;
//! 6. a `*Reasoning*` model → reasoning text plus the greeting below;
//! 7. otherwise `Hello from the GigaChat emulator! You said: <last user text, ≤200 chars>`.
//!
//! `Answer` is the wire-independent result, after `max_tokens` truncation.

use serde_json::{Map, Value};

use crate::schema;
use crate::script::{BLACKLIST_TEXT, MatchInput, Reply, ScriptedCall};
use crate::state::Shared;
use crate::tokens::{count_tokens, truncate_to_tokens};
use crate::wire::common::CustomFunction;
use crate::wire::v2::GeneratedFile;

/// Start of the default text answer.
pub const DEFAULT_GREETING: &str = "Hello from the GigaChat emulator!";

/// How many characters of the user's text the default answer quotes.
const QUOTE_CHARS: usize = 200;

/// Server-side built-in tools (v2 `tools`; v1 `text2image` maps to image generation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Builtin {
    WebSearch,
    UrlContentExtraction,
    CodeInterpreter,
    ImageGenerate,
    Model3dGenerate,
}

impl Builtin {
    pub fn from_key(key: &str) -> Option<Self> {
        Some(match key {
            "web_search" => Builtin::WebSearch,
            "url_content_extraction" => Builtin::UrlContentExtraction,
            "code_interpreter" => Builtin::CodeInterpreter,
            "image_generate" => Builtin::ImageGenerate,
            "model_3d_generate" => Builtin::Model3dGenerate,
            _ => return None,
        })
    }

    pub fn key(self) -> &'static str {
        match self {
            Builtin::WebSearch => "web_search",
            Builtin::UrlContentExtraction => "url_content_extraction",
            Builtin::CodeInterpreter => "code_interpreter",
            Builtin::ImageGenerate => "image_generate",
            Builtin::Model3dGenerate => "model_3d_generate",
        }
    }
}

/// The request's function-calling mode.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FunctionMode<'a> {
    Auto,
    None,
    /// Forced client function, with optional `partial_arguments` (v1).
    ForcedFunction(&'a str, Option<&'a Value>),
    ForcedBuiltin(Builtin),
}

/// What the planner needs to know about a chat request.
#[derive(Debug)]
pub(crate) struct ChatView<'a> {
    pub model: &'a str,
    pub last_user_text: Option<&'a str>,
    /// Name and result text when the last message is a function result.
    pub last_result: Option<(&'a str, String)>,
    pub functions: Vec<&'a CustomFunction>,
    pub mode: FunctionMode<'a>,
    pub json_schema: Option<&'a Value>,
    pub regex: Option<&'a str>,
    pub builtins: Vec<Builtin>,
}

/// What to answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Plan {
    Reply(Reply),
    Builtin(Builtin),
}

/// Chooses the answer (rules, queue, default).
pub(crate) fn plan(shared: &Shared, view: &ChatView<'_>) -> Plan {
    let input = MatchInput {
        model: view.model,
        last_user_text: view.last_user_text,
        last_is_function_result: view.last_result.is_some(),
    };
    match shared.next_scripted(&input) {
        Some(reply) => Plan::Reply(reply),
        None => default_plan(view),
    }
}

fn default_plan(view: &ChatView<'_>) -> Plan {
    if let Some((name, result)) = &view.last_result {
        return Plan::Reply(Reply::Text(format!(
            "The function {name} returned: {result}"
        )));
    }
    match &view.mode {
        FunctionMode::ForcedFunction(name, partial) => {
            let spec = view.functions.iter().find(|f| f.name == *name).copied();
            return Plan::Reply(Reply::FunctionCall {
                name: (*name).to_string(),
                arguments: arguments_for(spec, *partial),
            });
        }
        FunctionMode::ForcedBuiltin(b) => return Plan::Builtin(*b),
        FunctionMode::Auto => {
            if let Some(text) = view.last_user_text.map(str::to_lowercase)
                && let Some(f) = view
                    .functions
                    .iter()
                    .find(|f| text.contains(&f.name.to_lowercase()))
            {
                return Plan::Reply(Reply::FunctionCall {
                    name: f.name.clone(),
                    arguments: arguments_for(Some(f), None),
                });
            }
            if view.functions.is_empty()
                && let Some(b) = view.builtins.first()
            {
                return Plan::Builtin(*b);
            }
        }
        FunctionMode::None => {}
    }
    if let Some(schema) = view.json_schema {
        return Plan::Reply(Reply::Text(schema::instance_pretty(schema)));
    }
    if let Some(sample) = view.regex.and_then(crate::regex_sample::sample) {
        return Plan::Reply(Reply::Text(sample));
    }
    let text = greeting(view.last_user_text);
    if view.model.contains("Reasoning") {
        let reasoning = match view.last_user_text {
            Some(t) => format!(
                "The user wrote: \u{201c}{}\u{201d}. A short, friendly answer is best.",
                quote(t)
            ),
            None => "There is no user message. A short greeting is best.".to_string(),
        };
        return Plan::Reply(Reply::Reasoning { reasoning, text });
    }
    Plan::Reply(Reply::Text(text))
}

fn quote(text: &str) -> String {
    let trimmed = text.trim();
    match trimmed.char_indices().nth(QUOTE_CHARS) {
        Some((cut, _)) => format!("{}…", &trimmed[..cut]),
        None => trimmed.to_string(),
    }
}

/// The default greeting, quoting the user's last message.
pub(crate) fn greeting(last_user_text: Option<&str>) -> String {
    match last_user_text.map(quote).filter(|q| !q.is_empty()) {
        Some(q) => format!("{DEFAULT_GREETING} You said: {q}"),
        None => DEFAULT_GREETING.to_string(),
    }
}

/// Arguments for a call to `spec`: a schema instance of its parameters, overlaid with
/// `partial` (v1 `partial_arguments`).
fn arguments_for(spec: Option<&CustomFunction>, partial: Option<&Value>) -> Value {
    let mut args = match spec
        .and_then(|f| f.parameters.as_ref())
        .map(schema::instance)
    {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    if let Some(Value::Object(p)) = partial {
        args.extend(p.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    Value::Object(args)
}

/// A wire-independent answer.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Answer {
    pub reasoning: Option<String>,
    pub text: String,
    /// Byte offsets in `text` where a scripted stream piece starts ([`Reply::Chunks`]);
    /// `None`: pieces of `chunk_size` characters.
    pub breaks: Option<Vec<usize>>,
    pub calls: Vec<ScriptedCall>,
    pub finish_reason: &'static str,
    /// `functions_state_id` (v1) / `tool_state_id` (v2).
    pub state_id: Option<String>,
    /// Generated files (built-ins).
    pub files: Vec<GeneratedFile>,
    /// v2 `inline_data` (web search sources).
    pub inline_data: Option<Value>,
    /// Built-in that produced the answer.
    pub builtin: Option<Builtin>,
    pub completion_tokens: u64,
}

/// A state id that looks like GigaChat's (UUIDv7, `019…`).
pub(crate) fn new_state_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

impl Answer {
    /// Shapes a reply, truncating text to `max_tokens` (then `finish_reason: "length"`).
    pub fn from_reply(reply: Reply, max_tokens: Option<u32>) -> Self {
        let calls = reply.calls();
        if !calls.is_empty() {
            let completion_tokens = calls
                .iter()
                .map(|c| count_tokens(&c.name) + count_tokens(&c.arguments.to_string()))
                .sum();
            return Answer {
                calls,
                finish_reason: "function_call",
                state_id: Some(new_state_id()),
                completion_tokens,
                ..Answer::default()
            };
        }
        let mut breaks = None;
        let (reasoning, text, finish_reason) = match reply {
            Reply::Text(t) => (None, t, "stop"),
            Reply::Chunks(chunks) => {
                let mut at = 0;
                let mut starts = Vec::new();
                for chunk in chunks.iter().filter(|c| !c.is_empty()) {
                    if at > 0 {
                        starts.push(at);
                    }
                    at += chunk.len();
                }
                breaks = Some(starts);
                (None, chunks.concat(), "stop")
            }
            Reply::Length(t) => (None, t, "length"),
            Reply::Reasoning { reasoning, text } => (Some(reasoning), text, "stop"),
            Reply::Blacklist => (None, BLACKLIST_TEXT.to_string(), "blacklist"),
            Reply::FunctionCall { .. } | Reply::FunctionCalls(_) => (None, String::new(), "stop"),
        };
        let mut answer = Answer {
            reasoning,
            text,
            breaks,
            finish_reason,
            ..Answer::default()
        };
        answer.truncate(max_tokens);
        answer
    }

    /// Applies `max_tokens` to the text and computes `completion_tokens`.
    pub fn truncate(&mut self, max_tokens: Option<u32>) {
        if let Some(max) = max_tokens
            && let Some(cut) = truncate_to_tokens(&self.text, u64::from(max))
        {
            let cut = cut.to_string();
            if let Some(breaks) = self.breaks.as_mut() {
                breaks.retain(|b| *b < cut.len());
            }
            self.text = cut;
            self.finish_reason = "length";
        }
        self.completion_tokens =
            count_tokens(&self.text) + self.reasoning.as_deref().map(count_tokens).unwrap_or(0);
    }
}

impl Answer {
    /// The text as stream pieces: the scripted chunks, else pieces of `chunk_size`
    /// characters.
    pub fn text_pieces(&self, chunk_size: usize) -> Vec<&str> {
        let Some(breaks) = &self.breaks else {
            return split_chars(&self.text, chunk_size);
        };
        let mut pieces = Vec::with_capacity(breaks.len() + 1);
        let mut start = 0;
        for end in breaks.iter().copied().chain([self.text.len()]) {
            if let Some(piece) = self.text.get(start..end).filter(|p| !p.is_empty()) {
                pieces.push(piece);
                start = end;
            }
        }
        pieces
    }
}

/// Splits text into pieces of at most `size` characters (char-boundary safe).
pub(crate) fn split_chars(text: &str, size: usize) -> Vec<&str> {
    let size = size.max(1);
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut count = 0;
    for (i, _) in text.char_indices() {
        if count == size {
            pieces.push(&text[start..i]);
            start = i;
            count = 0;
        }
        count += 1;
    }
    if start < text.len() {
        pieces.push(&text[start..]);
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MockConfig;
    use serde_json::json;

    fn view<'a>(functions: Vec<&'a CustomFunction>) -> ChatView<'a> {
        ChatView {
            model: "GigaChat",
            last_user_text: Some("Hi there"),
            last_result: None,
            functions,
            mode: FunctionMode::Auto,
            json_schema: None,
            regex: None,
            builtins: Vec::new(),
        }
    }

    #[test]
    fn default_greets_and_quotes() {
        let shared = Shared::new(MockConfig::default());
        assert_eq!(
            plan(&shared, &view(vec![])),
            Plan::Reply(Reply::text(
                "Hello from the GigaChat emulator! You said: Hi there"
            ))
        );
        let long = "я".repeat(300);
        assert_eq!(greeting(Some(&long)).chars().count(), 44 + 200 + 1);
    }

    #[test]
    fn function_result_is_answered() {
        let mut v = view(vec![]);
        v.last_result = Some(("get_weather", r#"{"t":27}"#.into()));
        assert_eq!(
            default_plan(&v),
            Plan::Reply(Reply::text(
                r#"The function get_weather returned: {"t":27}"#
            ))
        );
    }

    #[test]
    fn forced_and_mentioned_functions_are_called() {
        let f: CustomFunction = serde_json::from_value(json!({
            "name": "get_weather",
            "parameters": {"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"}},"required":["city"]}
        }))
        .unwrap();
        let mut v = view(vec![&f]);
        assert!(matches!(default_plan(&v), Plan::Reply(Reply::Text(_))));
        v.last_user_text = Some("please call GET_WEATHER");
        assert_eq!(
            default_plan(&v),
            Plan::Reply(Reply::function_call(
                "get_weather",
                json!({"city":"example"})
            ))
        );
        let partial = json!({"city": "Kazan"});
        v.mode = FunctionMode::ForcedFunction("get_weather", Some(&partial));
        v.last_user_text = Some("anything");
        assert_eq!(
            default_plan(&v),
            Plan::Reply(Reply::function_call("get_weather", json!({"city":"Kazan"})))
        );
        v.mode = FunctionMode::None;
        v.last_user_text = Some("get_weather");
        assert!(matches!(default_plan(&v), Plan::Reply(Reply::Text(_))));
    }

    #[test]
    fn reasoning_models_reason() {
        let mut v = view(vec![]);
        v.model = "GigaChat-2-Reasoning";
        assert!(matches!(
            default_plan(&v),
            Plan::Reply(Reply::Reasoning { .. })
        ));
    }

    #[test]
    fn answers_truncate_to_max_tokens() {
        let a = Answer::from_reply(Reply::text("one two three four"), Some(2));
        assert_eq!((a.text.as_str(), a.finish_reason), ("one two ", "length"));
        assert_eq!(a.completion_tokens, 2);
        let a = Answer::from_reply(Reply::Blacklist, None);
        assert_eq!(a.finish_reason, "blacklist");
        let a = Answer::from_reply(Reply::function_call("f", json!({})), Some(1));
        assert_eq!(a.finish_reason, "function_call");
        assert!(a.state_id.is_some());
    }

    #[test]
    fn scripted_chunks_stream_as_given() {
        let a = Answer::from_reply(
            Reply::Chunks(vec!["ab".into(), "".into(), "вгд".into()]),
            None,
        );
        assert_eq!(a.text, "abвгд");
        assert_eq!(a.text_pieces(1), ["ab", "вгд"]);
        let a = Answer::from_reply(
            Reply::Chunks(vec!["one ".into(), "two ".into(), "three".into()]),
            Some(1),
        );
        assert_eq!((a.text.as_str(), a.finish_reason), ("one ", "length"));
        assert_eq!(a.text_pieces(1), ["one "]);
        assert_eq!(
            Answer::from_reply(Reply::text("abc"), None).text_pieces(2),
            ["ab", "c"]
        );
    }

    #[test]
    fn split_is_char_safe() {
        assert_eq!(split_chars("абвгд", 2), vec!["аб", "вг", "д"]);
        assert!(split_chars("", 3).is_empty());
        assert_eq!(split_chars("abc", 0), vec!["a", "b", "c"]);
    }
}
