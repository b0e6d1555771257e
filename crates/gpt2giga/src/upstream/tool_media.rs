//! Images and files returned by tools (a file-reading tool's PNG, a screenshot), on their
//! way to GigaChat. Both request builders ([`super::request`], [`super::request_v2`])
//! use this module, so v1 and v2 carry them the same way.
//!
//! GigaChat's function results are JSON only (v1 `function` content, v2
//! `function_result.result`: gigachat-api.md §3.2, §4.2) and attachments exist only on
//! user messages (§7.3; no `files` on a `function_result`). So a tool result keeps its
//! text as the function result, exactly as without media, and its files ride in user
//! messages placed right after the turn's function results, which leaves every
//! call/result pair as GigaChat wants it. Each such message holds at most
//! `per_message` files (GigaChat takes one image per message, §7.3) and its text says
//! which function returned what. A result that is only media gets a function result
//! saying so ([`note`]).

use crate::ir;

/// The files one tool result returned, uploaded.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Returned {
    /// The function's name as GigaChat knows it (alias included).
    pub name: String,
    /// Which of the assistant turn's calls this answers (0-based), of how many.
    pub call: usize,
    pub calls: usize,
    /// GigaChat file ids with the kind of part that carried each, in part order.
    pub files: Vec<(String, ir::MediaKind)>,
}

impl Returned {
    /// `ids` are the uploaded files of `result`'s media parts, in part order.
    pub(super) fn new(
        name: &str,
        call: usize,
        calls: usize,
        result: &ir::Message,
        ids: &[String],
    ) -> Self {
        let kinds: Vec<ir::MediaKind> = media_kinds(result).collect();
        let files = ids
            .iter()
            .enumerate()
            .map(|(n, id)| {
                let kind = kinds.get(n).copied().unwrap_or(ir::MediaKind::File);
                (id.clone(), kind)
            })
            .collect();
        Self {
            name: name.to_string(),
            call,
            calls,
            files,
        }
    }

    /// `image`, or `file` when any of them is not an image.
    fn noun(&self) -> &'static str {
        noun(self.files.iter().map(|(_, k)| *k))
    }
}

/// A user message carrying tool-returned files: its text and the file ids.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Carrier {
    pub text: String,
    pub ids: Vec<String>,
}

/// The user messages that follow a turn's function results: the files of `returned`,
/// in order, at most `per_message` (at least one) per message, each message saying
/// what it holds: `Image returned by read_file:`, `Image 2 of 3 returned by
/// screenshot (call 2 of 2):`, or a list when one message holds files of several
/// results.
pub(super) fn carriers(returned: &[Returned], per_message: usize) -> Vec<Carrier> {
    // (result, position within it, id)
    let flat: Vec<(usize, usize, &str)> = returned
        .iter()
        .enumerate()
        .flat_map(|(r, ret)| {
            ret.files
                .iter()
                .enumerate()
                .map(move |(k, (id, _))| (r, k, id.as_str()))
        })
        .collect();
    flat.chunks(per_message.max(1))
        .map(|chunk| {
            // Consecutive files of one result: (result, first, last).
            let mut segments: Vec<(usize, usize, usize)> = Vec::new();
            for &(r, k, _) in chunk {
                match segments.last_mut() {
                    Some(seg) if seg.0 == r => seg.2 = k,
                    _ => segments.push((r, k, k)),
                }
            }
            let lines: Vec<String> = segments
                .iter()
                .filter_map(|&(r, first, last)| {
                    returned.get(r).map(|ret| describe(ret, first, last))
                })
                .collect();
            let text = match lines.as_slice() {
                [one] => format!("{one}:"),
                many => format!(
                    "Returned by the function calls above, in the order attached:\n- {}",
                    many.join("\n- ")
                ),
            };
            Carrier {
                text,
                ids: chunk.iter().map(|(_, _, id)| (*id).to_string()).collect(),
            }
        })
        .collect()
}

/// `Image returned by f`, `2 images returned by f`, `Image 2 of 3 returned by f`,
/// `Files 1–2 of 3 returned by f (call 1 of 2)`.
fn describe(ret: &Returned, first: usize, last: usize) -> String {
    let total = ret.files.len();
    let noun = ret.noun();
    let count = last + 1 - first;
    let what = if count == total {
        if total == 1 {
            capitalised(noun)
        } else {
            format!("{total} {noun}s")
        }
    } else if count == 1 {
        format!("{} {} of {total}", capitalised(noun), first + 1)
    } else {
        format!(
            "{}s {}–{} of {total}",
            capitalised(noun),
            first + 1,
            last + 1
        )
    };
    let call = if ret.calls > 1 {
        format!(" (call {} of {})", ret.call + 1, ret.calls)
    } else {
        String::new()
    };
    format!("{what} returned by {}{call}", ret.name)
}

/// The function result of a tool result that holds media but no text:
/// `1 image, attached after the function results` (`None` without media).
pub(super) fn note(result: &ir::Message) -> Option<String> {
    let n = media_kinds(result).count();
    if n == 0 {
        return None;
    }
    let noun = noun(media_kinds(result));
    let counted = if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    };
    Some(format!("{counted}, attached after the function results"))
}

fn media_kinds(m: &ir::Message) -> impl Iterator<Item = ir::MediaKind> + '_ {
    m.parts.iter().filter_map(|p| match p {
        ir::Part::Media(media) => Some(media.kind),
        ir::Part::Text(_) => None,
    })
}

fn noun(mut kinds: impl Iterator<Item = ir::MediaKind>) -> &'static str {
    if kinds.all(|k| k == ir::MediaKind::Image) {
        "image"
    } else {
        "file"
    }
}

fn capitalised(noun: &str) -> String {
    let mut c = noun.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ir::MediaKind::{File, Image};

    fn returned(
        name: &str,
        call: usize,
        calls: usize,
        files: &[(&str, ir::MediaKind)],
    ) -> Returned {
        Returned {
            name: name.into(),
            call,
            calls,
            files: files
                .iter()
                .map(|(id, k)| ((*id).to_string(), *k))
                .collect(),
        }
    }

    fn texts(c: &[Carrier]) -> Vec<(&str, Vec<&str>)> {
        c.iter()
            .map(|c| (c.text.as_str(), c.ids.iter().map(String::as_str).collect()))
            .collect()
    }

    #[test]
    fn one_image_one_message() {
        let c = carriers(&[returned("Read", 0, 1, &[("f1", Image)])], 1);
        assert_eq!(texts(&c), [("Image returned by Read:", vec!["f1"])]);
    }

    #[test]
    fn one_file_per_message_by_default_each_labelled() {
        let r = [
            returned("Read", 0, 3, &[("a", Image)]),
            returned("shot", 2, 3, &[("b", Image), ("c", Image)]),
        ];
        let c = carriers(&r, 0);
        assert_eq!(
            texts(&c),
            [
                ("Image returned by Read (call 1 of 3):", vec!["a"]),
                ("Image 1 of 2 returned by shot (call 3 of 3):", vec!["b"]),
                ("Image 2 of 2 returned by shot (call 3 of 3):", vec!["c"]),
            ]
        );
    }

    #[test]
    fn several_results_share_a_message_when_the_limit_allows() {
        let r = [
            returned("Read", 0, 2, &[("a", Image)]),
            returned("Read", 1, 2, &[("b", Image), ("c", File)]),
        ];
        let c = carriers(&r, 10);
        assert_eq!(
            texts(&c),
            [(
                "Returned by the function calls above, in the order attached:\n\
                 - Image returned by Read (call 1 of 2)\n\
                 - 2 files returned by Read (call 2 of 2)",
                vec!["a", "b", "c"]
            )]
        );
        let c = carriers(&r, 2);
        assert_eq!(c.len(), 2);
        assert_eq!(c[1].text, "File 2 of 2 returned by Read (call 2 of 2):");
        let r = [returned(
            "shot",
            0,
            1,
            &[("a", Image), ("b", Image), ("c", Image)],
        )];
        assert_eq!(carriers(&r, 2)[0].text, "Images 1–2 of 3 returned by shot:");
        assert!(carriers(&[], 1).is_empty());
    }

    #[test]
    fn kinds_follow_the_parts_and_notes_count_them() {
        let media = |kind| {
            ir::Part::Media(ir::Media {
                kind,
                source: ir::MediaSource::FileId("x".into()),
                filename: None,
            })
        };
        let mut m = ir::Message::new(ir::Role::Tool, vec![ir::Part::Text(String::new())]);
        assert_eq!(note(&m), None);
        m.parts.push(media(Image));
        assert_eq!(
            note(&m).as_deref(),
            Some("1 image, attached after the function results")
        );
        m.parts.push(media(File));
        assert_eq!(
            note(&m).as_deref(),
            Some("2 files, attached after the function results")
        );
        let r = Returned::new("f", 0, 1, &m, &["a".into(), "b".into()]);
        assert_eq!(r.files, [("a".to_string(), Image), ("b".to_string(), File)]);
    }
}
