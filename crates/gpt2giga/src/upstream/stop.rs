//! Client stop sequences, enforced by the proxy (GigaChat has no `stop`).
//!
//! Works on the event stream, so streaming and non-streaming answers agree. Text is
//! released as soon as it cannot be the start of a stop sequence; a suffix that might
//! be (e.g. `"EN"` while waiting to see whether `"END"` follows) is held back until the
//! next piece decides. When a sequence matches, the text before it is released, the
//! answer finishes with [`FinishReason::StopSequence`], and later text and tool calls are
//! discarded; usage still passes through.

use crate::ir::{Event, FinishReason};

#[derive(Debug)]
pub struct StopFilter {
    stops: Vec<String>,
    held: String,
    stopped: bool,
}

impl StopFilter {
    /// `None` when there is nothing to enforce.
    pub fn new(stops: &[String]) -> Option<Self> {
        let stops: Vec<String> = stops.iter().filter(|s| !s.is_empty()).cloned().collect();
        if stops.is_empty() {
            return None;
        }
        Some(Self {
            stops,
            held: String::new(),
            stopped: false,
        })
    }

    /// Feeds one event; pushes what may be released now.
    pub fn push(&mut self, event: Event, out: &mut Vec<Event>) {
        if self.stopped {
            // Usage still counts; citations of the text sent before the stop still hold
            // (encoders ignore spans past the text they sent).
            if matches!(event, Event::Usage(_) | Event::Citations(_)) {
                out.push(event);
            }
            return;
        }
        match event {
            Event::Text(t) => {
                self.held.push_str(&t);
                self.scan(out);
            }
            Event::Finish(reason) => {
                self.flush(out);
                out.push(Event::Finish(reason));
            }
            // What follows the text so far (or refers to it) releases what was held.
            e @ (Event::ToolCall(_)
            | Event::Citations(_)
            | Event::BuiltinStarted(_)
            | Event::BuiltinDone(_)) => {
                self.flush(out);
                out.push(e);
            }
            other => out.push(other),
        }
    }

    fn flush(&mut self, out: &mut Vec<Event>) {
        if !self.held.is_empty() {
            out.push(Event::Text(std::mem::take(&mut self.held)));
        }
    }

    fn scan(&mut self, out: &mut Vec<Event>) {
        // Earliest match wins; on a tie, the longest sequence.
        let found = self
            .stops
            .iter()
            .filter_map(|s| self.held.find(s.as_str()).map(|pos| (pos, s)))
            .min_by(|a, b| a.0.cmp(&b.0).then(b.1.len().cmp(&a.1.len())));
        if let Some((pos, seq)) = found {
            let seq = seq.clone();
            let before = self.held[..pos].to_string();
            self.held.clear();
            if !before.is_empty() {
                out.push(Event::Text(before));
            }
            self.stopped = true;
            out.push(Event::Finish(FinishReason::StopSequence(seq)));
            return;
        }
        // Hold back the longest suffix that is a prefix of some stop sequence.
        let keep = self
            .stops
            .iter()
            .map(|s| longest_suffix_prefix(&self.held, s))
            .max()
            .unwrap_or(0);
        let release = self.held.len() - keep;
        if release > 0 {
            let rest = self.held.split_off(release);
            out.push(Event::Text(std::mem::replace(&mut self.held, rest)));
        }
    }
}

/// Length in bytes of the longest suffix of `text` that is a proper prefix of `stop`,
/// cut on char boundaries.
fn longest_suffix_prefix(text: &str, stop: &str) -> usize {
    let max = text.len().min(stop.len().saturating_sub(1));
    (1..=max)
        .rev()
        .find(|&n| {
            let start = text.len() - n;
            text.is_char_boundary(start) && stop.starts_with(&text[start..])
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn citations_release_the_text_they_cite() {
        use crate::ir::{Citation, Source};
        let cite = Event::Citations(vec![Citation {
            source: Source {
                url: "https://a".into(),
                title: None,
            },
            start: 0,
            end: 4,
        }]);
        let mut f = StopFilter::new(&["ENDX".to_string()]).unwrap();
        let mut out = Vec::new();
        f.push(Event::Text("Fact EN".into()), &mut out);
        f.push(cite.clone(), &mut out);
        let text: String = out
            .iter()
            .filter_map(|e| match e {
                Event::Text(t) => Some(t.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(text, "Fact EN");
        assert_eq!(out.last(), Some(&cite));
        // After a stop, citations of what was sent still pass.
        let mut f = StopFilter::new(&["ENDX".to_string()]).unwrap();
        let mut out = Vec::new();
        f.push(Event::Text("Fact ENDX more".into()), &mut out);
        f.push(cite.clone(), &mut out);
        assert_eq!(out[0], Event::Text("Fact ".into()));
        assert_eq!(out.last(), Some(&cite));
    }
    use crate::ir::Usage;

    fn run(stops: &[&str], pieces: &[&str]) -> Vec<Event> {
        let stops: Vec<String> = stops.iter().map(|s| s.to_string()).collect();
        let mut f = StopFilter::new(&stops).unwrap();
        let mut out = vec![];
        for p in pieces {
            f.push(Event::Text(p.to_string()), &mut out);
        }
        f.push(Event::Usage(Usage::default()), &mut out);
        f.push(Event::Finish(FinishReason::Stop), &mut out);
        out
    }

    fn text(events: &[Event]) -> String {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Text(t) => Some(t.as_str()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn match_across_chunk_boundaries() {
        let out = run(&["END"], &["one two E", "N", "D three"]);
        assert_eq!(text(&out), "one two ");
        assert!(out.contains(&Event::Finish(FinishReason::StopSequence("END".into()))));
        assert!(!out.contains(&Event::Finish(FinishReason::Stop)));
        assert!(out.contains(&Event::Usage(Usage::default())));
    }

    #[test]
    fn false_prefix_is_released() {
        let out = run(&["END"], &["hello E", "Nx"]);
        assert_eq!(text(&out), "hello ENx");
        assert_eq!(out.last(), Some(&Event::Finish(FinishReason::Stop)));
    }

    #[test]
    fn earliest_of_several_sequences_and_multibyte() {
        let out = run(&["стоп", "\n\n"], &["да ст", "оп\n\nнет"]);
        assert_eq!(text(&out), "да ");
        assert!(out.contains(&Event::Finish(FinishReason::StopSequence("стоп".into()))));
    }

    #[test]
    fn text_is_released_early_when_safe() {
        let stops = vec!["###".to_string()];
        let mut f = StopFilter::new(&stops).unwrap();
        let mut out = vec![];
        f.push(Event::Text("abc".into()), &mut out);
        assert_eq!(out, vec![Event::Text("abc".into())]);
    }

    #[test]
    fn no_stops_no_filter() {
        assert!(StopFilter::new(&[]).is_none());
        assert!(StopFilter::new(&[String::new()]).is_none());
    }
}
