//! Canned outputs of the server-side built-in tools (§4.3, §4.6): web search with
//! `inline_data.sources`, URL extraction, code interpreter, image and 3D generation
//! (generated files are stored and downloadable via `/files/{id}/content`).

use serde_json::json;

use crate::reply::{Answer, Builtin, new_state_id};
use crate::state::Shared;
use crate::wire::v2::GeneratedFile;

/// An 8×8 mid-grey baseline JPEG (DC-only, one Huffman code per table).
pub(crate) const GENERATED_JPEG: &[u8] = &[
    0xFF, 0xD8, // SOI
    0xFF, 0xDB, 0x00, 0x43, 0x00, // DQT, table 0, all ones
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, // 64 entries
    0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 0x08, 0x00, 0x08, 0x01, 0x01, 0x11,
    0x00, // SOF0 8x8 grey
    0xFF, 0xC4, 0x00, 0x14, 0x00, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0x00, // DHT DC0: one 1-bit code → category 0
    0xFF, 0xC4, 0x00, 0x14, 0x10, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0x00, // DHT AC0: one 1-bit code → EOB
    0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00, // SOS
    0x3F, // DC diff 0, EOB, padded with ones
    0xFF, 0xD9, // EOI
];

/// A stub binary FBX header standing in for a generated 3D model.
const GENERATED_FBX: &[u8] = b"Kaydara FBX Binary  \x00\x1a\x00\xe8\x1c\x00\x00";

/// Runs a built-in: returns the answer (text, files, sources) with a fresh state id.
/// Generated files belong to `client_id`.
pub(crate) fn run(
    shared: &Shared,
    tool: Builtin,
    client_id: Option<&str>,
    last_user_text: Option<&str>,
    max_tokens: Option<u32>,
) -> Answer {
    let topic = last_user_text
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .unwrap_or("your request");
    let short: String = topic.chars().take(80).collect();
    let mut answer = Answer {
        finish_reason: "stop",
        state_id: Some(new_state_id()),
        builtin: Some(tool),
        ..Answer::default()
    };
    match tool {
        Builtin::WebSearch => {
            answer.text = format!(
                "Here is what the web says about \u{201c}{short}\u{201d}: the emulator found two relevant pages [sources=[1]] [sources=[2]]."
            );
            answer.inline_data = Some(json!({
                "images": [],
                "sources": {
                    "1": {"url": "https://example.com/gigachat-emulator/search-result-1", "title": "Emulated search result 1"},
                    "2": {"url": "https://example.org/gigachat-emulator/search-result-2", "title": "Emulated search result 2"}
                }
            }));
        }
        Builtin::UrlContentExtraction => {
            let url = topic
                .split_whitespace()
                .find(|w| w.starts_with("http://") || w.starts_with("https://"))
                .unwrap_or("the page");
            answer.text = format!(
                "I read {url}. It is a page served to the GigaChat emulator; its main points are summarised here."
            );
        }
        Builtin::CodeInterpreter => {
            answer.text =
                "I ran the code in the sandbox. The program finished successfully and printed: 42"
                    .to_string();
        }
        Builtin::ImageGenerate => {
            let id = shared
                .files
                .store_generated(client_id, "image.jpg", "image", GENERATED_JPEG);
            answer.files.push(GeneratedFile {
                id,
                mime: "image/jpeg",
                target: "image",
            });
            answer.text = format!("Here is the image for \u{201c}{short}\u{201d}.");
        }
        Builtin::Model3dGenerate => {
            let id = shared
                .files
                .store_generated(client_id, "model.fbx", "3dmodel", GENERATED_FBX);
            answer.files.push(GeneratedFile {
                id,
                mime: "application/octet-stream",
                target: "3dmodel",
            });
            answer.text = format!("Here is the 3D model for \u{201c}{short}\u{201d}.");
        }
    }
    answer.truncate(max_tokens);
    answer
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MockConfig;

    #[test]
    fn jpeg_is_well_formed() {
        assert_eq!(&GENERATED_JPEG[..2], &[0xFF, 0xD8]);
        assert_eq!(&GENERATED_JPEG[GENERATED_JPEG.len() - 2..], &[0xFF, 0xD9]);
        // DQT segment: 2 length bytes + 1 table byte + 64 entries.
        assert_eq!(GENERATED_JPEG[4..6], [0x00, 0x43]);
        assert_eq!(GENERATED_JPEG[71..73], [0xFF, 0xC0]);
    }

    #[test]
    fn image_generation_stores_a_file() {
        let shared = Shared::new(MockConfig::default());
        let a = run(
            &shared,
            Builtin::ImageGenerate,
            Some("c1"),
            Some("a cat"),
            None,
        );
        let id = &a.files[0].id;
        assert!(shared.files.get(id, None, Some("c1")).is_some());
        assert!(shared.files.get(id, None, Some("c2")).is_none());
        assert!(a.text.contains("a cat"));
    }

    #[test]
    fn web_search_has_sources() {
        let shared = Shared::new(MockConfig::default());
        let a = run(&shared, Builtin::WebSearch, None, Some("python"), None);
        assert!(a.inline_data.unwrap()["sources"]["1"]["url"].is_string());
    }
}
