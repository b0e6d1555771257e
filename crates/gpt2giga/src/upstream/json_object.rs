//! `response_format: json_object` on a non-stream answer: the text must be one JSON
//! object. GigaChat sometimes wraps it in a Markdown code fence; that is stripped. Text
//! that still is not an object becomes a 502 rather than broken JSON sent as a success.
//! Streams are passed through as they come (their text is already out when it ends).

use crate::error::ProxyError;
use crate::ir::{Event, FinishReason};

/// Checks and cleans the answer text of `events` in place. Answers that called a tool,
/// or were cut short (`length`, content filter), are left as they are.
pub(crate) fn check(events: &mut Vec<Event>) -> Result<(), ProxyError> {
    if events.iter().any(|e| matches!(e, Event::ToolCall(_))) {
        return Ok(());
    }
    let text: String = events
        .iter()
        .filter_map(|e| match e {
            Event::Text(t) => Some(t.as_str()),
            _ => None,
        })
        .collect();
    let candidate = strip_fence(&text);
    // Validate without building the value: an object is text that starts with `{` and
    // parses as one JSON value.
    let is_object = candidate.starts_with('{')
        && serde_json::from_str::<serde::de::IgnoredAny>(candidate).is_ok();
    if !is_object {
        let cut_short = events.iter().any(|e| {
            matches!(
                e,
                Event::Finish(FinishReason::Length | FinishReason::ContentFilter)
            )
        });
        if cut_short {
            return Ok(());
        }
        return Err(ProxyError::Upstream(gigachat::Error::Decode(
            "GigaChat did not return valid JSON for response_format json_object".into(),
        )));
    }
    if candidate.len() == text.len() {
        return Ok(());
    }
    let candidate = candidate.to_string();
    let first = events.iter().position(|e| matches!(e, Event::Text(_)));
    events.retain(|e| !matches!(e, Event::Text(_)));
    if let Some(i) = first {
        events.insert(i, Event::Text(candidate));
    }
    Ok(())
}

/// The inside of a Markdown code fence (```` ```json … ``` ````), else the trimmed text.
fn strip_fence(text: &str) -> &str {
    let t = text.trim();
    let Some(rest) = t.strip_prefix("```") else {
        return t;
    };
    let Some(rest) = rest.strip_suffix("```") else {
        return t;
    };
    // The info string (`json`) runs to the end of the opening line.
    match rest.split_once('\n') {
        Some((_, body)) => body.trim(),
        None => rest.trim(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_of(events: &[Event]) -> String {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Text(t) => Some(t.as_str()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn fences_are_stripped_and_plain_objects_kept() {
        for (given, want) in [
            ("```json\n{\"a\":1}\n```", "{\"a\":1}"),
            ("```\n{\"a\":1}```", "{\"a\":1}"),
            (" {\"a\": [1]}\n", "{\"a\": [1]}"),
        ] {
            let mut ev = vec![
                Event::Text(given[..3].to_string()),
                Event::Text(given[3..].to_string()),
                Event::Finish(FinishReason::Stop),
            ];
            check(&mut ev).unwrap();
            assert_eq!(text_of(&ev), want);
            assert!(matches!(ev.last(), Some(Event::Finish(FinishReason::Stop))));
        }
    }

    #[test]
    fn non_objects_are_a_502_unless_cut_short() {
        for bad in ["sure! here it is", "[1,2]", "", "```json\nnope\n```"] {
            let mut ev = vec![Event::Text(bad.into()), Event::Finish(FinishReason::Stop)];
            let e = check(&mut ev).unwrap_err();
            assert_eq!(e.status().as_u16(), 502, "{bad}");
            assert!(e.to_string().contains("valid JSON"), "{e}");
        }
        let mut ev = vec![
            Event::Text("{\"a\":".into()),
            Event::Finish(FinishReason::Length),
        ];
        check(&mut ev).unwrap();
        assert_eq!(text_of(&ev), "{\"a\":");
    }
}
