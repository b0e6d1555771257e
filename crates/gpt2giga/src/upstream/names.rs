//! Function names as GigaChat accepts them, and the way back.
//!
//! GigaChat function names must match `^[A-Za-z][A-Za-z0-9_.-]*$` and must not collide
//! with its built-in functions/tools. A client name that breaks either rule is replaced
//! by a deterministic alias (`fn_<sanitised>_<hash>`), and the alias is mapped back to the
//! client's name on every tool call GigaChat returns. Aliases depend only on the name,
//! so a name echoed in a later request (history) maps to the same alias.

use std::collections::HashMap;

/// Names GigaChat reserves for its own built-ins.
pub(crate) const RESERVED: &[&str] = &[
    "web_search",
    "text2image",
    "text2model3d",
    "get_file_content",
    "code_interpreter",
    "image_generate",
    "url_content_extraction",
    "model_3d_generate",
];

/// Aliases for one request: client name ↔ GigaChat name.
#[derive(Debug, Clone, Default)]
pub struct ToolNames {
    to_upstream: HashMap<String, String>,
    to_client: HashMap<String, String>,
}

impl ToolNames {
    /// Registers a client name and returns the name to send to GigaChat.
    pub(crate) fn register(&mut self, client: &str) -> String {
        if let Some(up) = self.to_upstream.get(client) {
            return up.clone();
        }
        let up = upstream_name(client);
        self.to_upstream.insert(client.to_string(), up.clone());
        self.to_client.insert(up.clone(), client.to_string());
        up
    }

    /// The client's name for a name GigaChat returned.
    pub(crate) fn client_name(&self, upstream: &str) -> String {
        self.to_client
            .get(upstream)
            .cloned()
            .unwrap_or_else(|| upstream.to_string())
    }
}

/// The GigaChat-safe name for a client name (identity when already safe).
pub(crate) fn upstream_name(client: &str) -> String {
    if is_valid(client) && !RESERVED.contains(&client) {
        return client.to_string();
    }
    let sanitised: String = client
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .take(48)
        .collect();
    format!("fn_{sanitised}_{:08x}", fnv1a(client.as_bytes()) as u32)
}

fn is_valid(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && name.len() <= 64
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_names_pass_through() {
        assert_eq!(upstream_name("get_weather"), "get_weather");
        assert_eq!(upstream_name("ns.tool-1"), "ns.tool-1");
    }

    #[test]
    fn reserved_and_invalid_names_are_aliased_and_mapped_back() {
        let mut names = ToolNames::default();
        let a = names.register("web_search");
        assert!(a.starts_with("fn_web_search_"), "{a}");
        assert_ne!(a, "web_search");
        let b = names.register("9lives");
        assert!(b.starts_with("fn_9lives_"));
        let c = names.register("Плохое имя");
        assert!(is_valid(&c), "{c}");
        assert_eq!(names.client_name(&a), "web_search");
        assert_eq!(names.client_name(&c), "Плохое имя");
        assert_eq!(names.client_name("unknown"), "unknown");
        // Deterministic across requests.
        assert_eq!(upstream_name("web_search"), a);
    }
}
