//! GigaChat's source markers (`… text [sources=[2]].`, gigachat-api.md §4.6) taken out
//! of a web-search answer's text and kept as cited spans.
//!
//! Text flows through as it arrives, except what could still turn out to be part of a
//! marker: a tail that is a prefix of `[sources=[`, an opened marker not yet closed,
//! and trailing whitespace (a marker takes the blank before it with it). Each marker
//! becomes a [`Marker`]: its source keys and the span it cites — from the start of the
//! sentence (or line, or the end of the previous marker) to the marker — in byte offsets
//! of the text the client receives.

use crate::ir::Event;

const OPEN: &str = "[sources=[";
/// An opened marker longer than this is not a marker: it is released as text.
const MAX_MARKER: usize = 64;

/// A cited span of the answer text and the keys of its sources (`inline_data.sources`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Marker {
    pub sources: Vec<String>,
    pub start: usize,
    pub end: usize,
}

#[derive(Debug, Default)]
pub(crate) struct CitationFilter {
    held: String,
    /// Bytes of text released so far.
    emitted: usize,
    /// Where the current sentence (citation span candidate) starts.
    seg_start: usize,
    /// The current sentence starts with whitespace to skip: its length so far.
    seg_lead: usize,
    seg_has_text: bool,
    last: Option<char>,
    /// The character before `last`.
    before_last: Option<char>,
    markers: Vec<Marker>,
}

impl CitationFilter {
    /// Adds answer text; releases what cannot be part of a marker as `Event::Text`.
    pub fn push(&mut self, text: &str, out: &mut Vec<Event>) {
        self.held.push_str(text);
        self.drain(false, out);
    }

    /// The text is over: releases everything held.
    pub fn flush(&mut self, out: &mut Vec<Event>) {
        self.drain(true, out);
    }

    /// The markers seen so far (taken).
    pub fn take_markers(&mut self) -> Vec<Marker> {
        std::mem::take(&mut self.markers)
    }

    fn drain(&mut self, last: bool, out: &mut Vec<Event>) {
        let held = std::mem::take(&mut self.held);
        let mut rest = held.as_str();
        loop {
            let Some(at) = rest.find(OPEN) else {
                let keep = if last { 0 } else { held_tail(rest) };
                let (now, later) = rest.split_at(rest.len() - keep);
                self.emit(now, out);
                self.held = later.to_string();
                return;
            };
            let body = &rest[at + OPEN.len()..];
            match body.find("]]") {
                Some(close) if close <= MAX_MARKER => {
                    let keys: Option<Vec<String>> = body[..close]
                        .split(',')
                        .map(|k| {
                            let k = k.trim();
                            (!k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()))
                                .then(|| k.to_string())
                        })
                        .collect();
                    let Some(keys) = keys else {
                        // Not a marker after all: its `[` is text.
                        self.emit(&rest[..at + 1], out);
                        rest = &rest[at + 1..];
                        continue;
                    };
                    self.emit(rest[..at].trim_end(), out);
                    self.cite(keys);
                    rest = &body[close + 2..];
                }
                None if !last && body.len() <= MAX_MARKER => {
                    // Opened, not closed yet: hold from the blank before it.
                    let cut = rest[..at].trim_end().len();
                    self.emit(&rest[..cut], out);
                    self.held = rest[cut..].to_string();
                    return;
                }
                _ => {
                    self.emit(&rest[..at + 1], out);
                    rest = &rest[at + 1..];
                }
            }
        }
    }

    fn emit(&mut self, text: &str, out: &mut Vec<Event>) {
        if text.is_empty() {
            return;
        }
        for (i, ch) in text.char_indices() {
            let after = self.emitted + i + ch.len_utf8();
            // A sentence ends at `.`/`!`/`?` and a blank, but a list number (`1. `) does
            // not end one.
            let numbered =
                self.last == Some('.') && self.before_last.is_some_and(|c| c.is_ascii_digit());
            let boundary = ch == '\n'
                || (ch.is_whitespace() && matches!(self.last, Some('.' | '!' | '?')) && !numbered);
            if boundary {
                self.seg_start = after;
                self.seg_lead = 0;
                self.seg_has_text = false;
            } else if !self.seg_has_text && ch.is_whitespace() {
                self.seg_lead += ch.len_utf8();
            } else {
                self.seg_has_text = true;
            }
            self.before_last = self.last;
            self.last = Some(ch);
        }
        self.emitted += text.len();
        out.push(Event::Text(text.to_string()));
    }

    fn cite(&mut self, sources: Vec<String>) {
        let end = self.emitted;
        let mut start = self.seg_start + self.seg_lead;
        if start >= end {
            // A marker right after a sentence end cites that sentence: the span of the
            // previous marker, else the whole text so far.
            start = self
                .markers
                .last()
                .map_or(0, |m| if m.end < end { m.end } else { m.start });
        }
        if start < end {
            self.markers.push(Marker {
                sources,
                start,
                end,
            });
        }
        self.seg_start = end;
        self.seg_lead = 0;
        self.seg_has_text = false;
    }
}

/// How much of the end of `s` to hold back: an unfinished `[sources=[` prefix, and the
/// whitespace before it (or trailing whitespace).
fn held_tail(s: &str) -> usize {
    let mut keep = 0;
    for k in (1..OPEN.len()).rev() {
        if s.len() >= k && s.is_char_boundary(s.len() - k) && OPEN.starts_with(&s[s.len() - k..]) {
            keep = k;
            break;
        }
    }
    let before = &s[..s.len() - keep];
    keep + (before.len() - before.trim_end().len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(pieces: &[&str]) -> (String, Vec<Marker>) {
        let mut f = CitationFilter::default();
        let mut out = Vec::new();
        for p in pieces {
            f.push(p, &mut out);
        }
        f.flush(&mut out);
        let text = out
            .iter()
            .map(|e| match e {
                Event::Text(t) => t.as_str(),
                _ => panic!("{e:?}"),
            })
            .collect();
        (text, f.take_markers())
    }

    #[test]
    fn markers_are_removed_and_spans_cover_their_sentence() {
        let src = "Intro line.\n\n1. **JIT**: faster on macOS [sources=[2]].\n\n2. UTF-8 by default [sources=[1, 2]]. Done.";
        let (text, markers) = run(&[src]);
        assert_eq!(
            text,
            "Intro line.\n\n1. **JIT**: faster on macOS.\n\n2. UTF-8 by default. Done."
        );
        assert_eq!(markers.len(), 2);
        assert_eq!(
            &text[markers[0].start..markers[0].end],
            "1. **JIT**: faster on macOS"
        );
        assert_eq!(markers[0].sources, vec!["2"]);
        assert_eq!(
            &text[markers[1].start..markers[1].end],
            "2. UTF-8 by default"
        );
        assert_eq!(markers[1].sources, vec!["1", "2"]);
    }

    #[test]
    fn markers_split_across_pieces_never_leak() {
        let src = "Первое предложение [sources=[1]]. Второе [sources=[2]].";
        // Every split point, including inside multi-byte characters' neighbours.
        let chars: Vec<(usize, char)> = src.char_indices().collect();
        for &(cut, _) in &chars {
            for &(cut2, _) in chars.iter().filter(|(c, _)| *c >= cut) {
                let (text, markers) = run(&[&src[..cut], &src[cut..cut2], &src[cut2..]]);
                assert_eq!(text, "Первое предложение. Второе.", "{cut} {cut2}");
                assert_eq!(markers.len(), 2);
                assert_eq!(
                    &text[markers[0].start..markers[0].end],
                    "Первое предложение"
                );
                assert_eq!(&text[markers[1].start..markers[1].end], "Второе");
            }
        }
    }

    #[test]
    fn marker_after_a_sentence_end_cites_that_sentence() {
        let (text, markers) = run(&["One. [sources=[1]] Two [sources=[2]]"]);
        assert_eq!(text, "One. Two");
        assert_eq!(&text[markers[0].start..markers[0].end], "One.");
        assert_eq!(&text[markers[1].start..markers[1].end], "Two");
    }

    #[test]
    fn lookalikes_stay_text() {
        let (text, markers) = run(&["a [sources=[x]] b [sour", "ce] [sources=[1"]);
        assert_eq!(text, "a [sources=[x]] b [source] [sources=[1");
        assert!(markers.is_empty());
        let (text, _) = run(&["trailing  "]);
        assert_eq!(text, "trailing  ");
    }
}
