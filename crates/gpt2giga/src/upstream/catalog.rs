//! What the proxy knows about GigaChat models beyond `GET /models`: the one table of
//! known context sizes, read by the catalogue (`/model/info`).
//!
//! GigaChat's model list carries no sizes (gigachat-api.md §6.2), so they come from
//! Sber's public material, listed with each row and in the README ("Model catalogue").
//! A model missing here has an unknown size, reported as `null` rather than guessed.
//! GigaChat publishes no separate cap on the answer's length: the answer shares the
//! context with the prompt, so the maximum output is unknown unless an alias sets
//! `max_tokens`.

use gigachat::types::{Model, ModelList};

use crate::config::{Alias, ModelAliases};

/// Known limits of one GigaChat model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Known {
    /// The context window (prompt and answer together), in tokens.
    pub context: u32,
}

/// GigaChat 2 (Lite, Pro, Max): "context of 128 thousand tokens", in SberDevices'
/// GigaChat 2 announcement on Habr for the whole line (read via its copy at
/// pvsm.ru/iskusstvenny-j-intellekt/413537); 128 000 is the conservative reading.
const GIGACHAT_2: Known = Known { context: 128_000 };
/// GigaChat Lite+ (`GigaChat-Plus`): 32 768 (developers.sber.ru/docs/ru/gigachat/models,
/// version of 13 February 2024).
const GIGACHAT_PLUS: Known = Known { context: 32_768 };

/// Model id → known limits. `-preview` ids are the same models in early access.
const TABLE: &[(&str, Known)] = &[
    ("GigaChat-2", GIGACHAT_2),
    ("GigaChat-2-preview", GIGACHAT_2),
    ("GigaChat-2-Pro", GIGACHAT_2),
    ("GigaChat-2-Pro-preview", GIGACHAT_2),
    ("GigaChat-2-Max", GIGACHAT_2),
    ("GigaChat-2-Max-preview", GIGACHAT_2),
    ("GigaChat-Plus", GIGACHAT_PLUS),
];

/// The known limits of `model`, if the table has it.
pub(crate) fn known(model: &str) -> Option<Known> {
    TABLE.iter().find(|(id, _)| *id == model).map(|(_, k)| *k)
}

/// Whether `model` computes embeddings rather than chat answers, by GigaChat's `type`
/// when the model list gave one (`embedder`), otherwise by its name (gigachat-api.md
/// §5 lists `Embeddings`, `Embeddings-2`, `EmbeddingsGigaR`, `GigaEmbeddings-…`).
pub(crate) fn is_embedder(model: &str, kind: Option<&str>) -> bool {
    match kind {
        Some(k) => k == "embedder",
        None => model.contains("Embeddings"),
    }
}

/// A listed alias: its name, the GigaChat model that serves it and what it serves.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Served<'a> {
    pub id: &'a str,
    pub served_by: &'a str,
    /// Only an `embeddings_model`: the alias serves embeddings, not chat.
    pub embedding: bool,
    /// The alias's `max_tokens` (its answers' default cap).
    pub max_tokens: Option<u32>,
}

/// The exact-name aliases, in written order (globs are not listable ids).
pub(crate) fn listed_aliases(aliases: &ModelAliases) -> Vec<Served<'_>> {
    aliases
        .iter()
        .filter(|a| !a.is_glob())
        .filter_map(|a| served_as(&a.name, a))
        .collect()
}

/// `id` as `alias` serves it (the alias's own name, or a name its pattern matches).
pub(crate) fn served_as<'a>(id: &'a str, alias: &'a Alias) -> Option<Served<'a>> {
    alias.settings.served_by().map(|served_by| Served {
        id,
        served_by,
        embedding: alias.settings.model.is_none(),
        max_tokens: alias.settings.max_tokens,
    })
}

/// GigaChat's models that no alias shadows (an alias of the same name serves it).
pub(crate) fn unshadowed<'a>(models: &'a ModelList, aliases: &[Served<'_>]) -> Vec<&'a Model> {
    models
        .data
        .iter()
        .filter(|m| !aliases.iter().any(|a| a.id == m.id))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_answers_known_models_only() {
        assert_eq!(known("GigaChat-2-Max").map(|k| k.context), Some(128_000));
        assert_eq!(
            known("GigaChat-2-Pro-preview").map(|k| k.context),
            Some(128_000)
        );
        assert_eq!(known("GigaChat-Plus").map(|k| k.context), Some(32_768));
        assert_eq!(known("GigaChat"), None);
        assert_eq!(known("gigachat-2-max"), None, "ids are case-sensitive");
        assert!(is_embedder("EmbeddingsGigaR", None));
        assert!(is_embedder("GigaEmbeddings-3B-2025-09", Some("embedder")));
        assert!(!is_embedder("GigaChat-2", Some("chat")));
    }
}
