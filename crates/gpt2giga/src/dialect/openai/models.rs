//! The model catalogue: GigaChat's model list plus the aliases
//! (`--proxy.model-aliases`) as OpenAI `list` / `model` objects, Anthropic's model
//! shape, and LiteLLM's `/model/info`.
//!
//! Only exact-name aliases are listed by `/models` (a glob pattern is not a model id a
//! client could send as is); `/model/info` lists every alias, patterns included, as
//! LiteLLM lists its own wildcard routes (`model_name: "claude-*"`).

use bytes::Bytes;
use gigachat::types::{Model, ModelList};
use serde::Serialize;

use crate::config::ModelAliases;
use crate::upstream::catalog::{self, Served, listed_aliases, unshadowed};

/// One model in OpenAI's shape (the `Model` schema of the API docs).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Model)]
pub(crate) struct ModelOut<'a> {
    id: &'a str,
    object: &'static str,
    created: i64,
    owned_by: &'a str,
}

/// OpenAI's model list (the `ModelList` schema of the API docs).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ModelList)]
pub(crate) struct ListOut<'a> {
    object: &'static str,
    data: Vec<ModelOut<'a>>,
}

fn model_out(m: &Model) -> ModelOut<'_> {
    ModelOut {
        id: &m.id,
        object: "model",
        created: 0,
        owned_by: if m.owned_by.is_empty() {
            "salutedevices"
        } else {
            &m.owned_by
        },
    }
}

fn served_out<'a>(id: &'a str, owned_by: &'a str) -> ModelOut<'a> {
    ModelOut {
        id,
        object: "model",
        created: 0,
        owned_by,
    }
}

fn served_owner(served_by: &str) -> String {
    format!("gpt2giga (served by {served_by})")
}

/// GigaChat's models, then the aliases (each `owned_by` naming its model).
pub(crate) fn list(models: &ModelList, aliases: &[Served<'_>]) -> Bytes {
    let owners: Vec<String> = aliases.iter().map(|a| served_owner(a.served_by)).collect();
    let mut data: Vec<ModelOut<'_>> = unshadowed(models, aliases)
        .into_iter()
        .map(model_out)
        .collect();
    data.extend(
        aliases
            .iter()
            .zip(&owners)
            .map(|(a, owner)| served_out(a.id, owner)),
    );
    let body = ListOut {
        object: "list",
        data,
    };
    Bytes::from(serde_json::to_vec(&body).unwrap_or_default())
}

pub fn one(model: &Model) -> Bytes {
    Bytes::from(serde_json::to_vec(&model_out(model)).unwrap_or_default())
}

/// A name GigaChat does not know, answered because the proxy serves every requested
/// model with `served_by` (`--proxy.pass-model` off): `owned_by` names that model.
pub(crate) fn served(id: &str, served_by: &str) -> Bytes {
    let owned_by = served_owner(served_by);
    Bytes::from(serde_json::to_vec(&served_out(id, &owned_by)).unwrap_or_default())
}

/// [`served`] in Anthropic's shape: `display_name` names the GigaChat model.
pub(crate) fn anthropic_served(id: &str, served_by: &str) -> Bytes {
    let display_name = format!("{id} (served by {served_by})");
    Bytes::from(serde_json::to_vec(&anthropic_served_model(id, &display_name)).unwrap_or_default())
}

fn anthropic_served_model<'a>(id: &'a str, display_name: &'a str) -> AnthropicModel<'a> {
    AnthropicModel {
        kind: "model",
        id,
        display_name,
        created_at: "1970-01-01T00:00:00Z",
    }
}

#[derive(Serialize)]
struct AnthropicModel<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: &'a str,
    display_name: &'a str,
    created_at: &'static str,
}

fn anthropic_model(m: &Model) -> AnthropicModel<'_> {
    AnthropicModel {
        kind: "model",
        id: &m.id,
        display_name: &m.id,
        // GigaChat publishes no creation dates; the Unix epoch marks "unknown".
        created_at: "1970-01-01T00:00:00Z",
    }
}

/// Anthropic's model list shape (for requests carrying `anthropic-version`).
pub(crate) fn anthropic_list(models: &ModelList, aliases: &[Served<'_>]) -> Bytes {
    let names: Vec<String> = aliases
        .iter()
        .map(|a| format!("{} (served by {})", a.id, a.served_by))
        .collect();
    let mut data: Vec<AnthropicModel<'_>> = unshadowed(models, aliases)
        .into_iter()
        .map(anthropic_model)
        .collect();
    data.extend(
        aliases
            .iter()
            .zip(&names)
            .map(|(a, name)| anthropic_served_model(a.id, name)),
    );
    let body = serde_json::json!({
        "data": data,
        "has_more": false,
        "first_id": data.first().map(|m| m.id),
        "last_id": data.last().map(|m| m.id),
    });
    Bytes::from(serde_json::to_vec(&body).unwrap_or_default())
}

pub(crate) fn anthropic_one(model: &Model) -> Bytes {
    Bytes::from(serde_json::to_vec(&anthropic_model(model)).unwrap_or_default())
}

/// LiteLLM's `GET /model/info` answer (the proxy's `{"data": [...]}`).
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ModelInfoList<'a> {
    data: Vec<ModelInfoEntry<'a>>,
}

/// One deployment in LiteLLM's shape.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ModelInfoEntry<'a> {
    /// The name clients send (an alias, a glob pattern, or a GigaChat model).
    model_name: &'a str,
    litellm_params: LitellmParams,
    model_info: ModelInfo<'a>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct LitellmParams {
    /// `gigachat/<model>`: the GigaChat model that serves the name.
    model: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ModelInfo<'a> {
    id: &'a str,
    /// The GigaChat model that serves the name.
    key: &'a str,
    /// `chat` or `embedding`.
    mode: &'static str,
    litellm_provider: &'static str,
    /// Context window (prompt and answer), `null` when unknown.
    max_input_tokens: Option<u32>,
    /// The alias's `max_tokens`, `null` when unknown.
    max_output_tokens: Option<u32>,
    /// LiteLLM's legacy field: the maximum output when known, else the context.
    max_tokens: Option<u32>,
    supports_function_calling: bool,
}

fn info_entry<'a>(
    name: &'a str,
    served_by: &'a str,
    embedding: bool,
    max_output: Option<u32>,
) -> ModelInfoEntry<'a> {
    let context = catalog::known(served_by).map(|k| k.context);
    ModelInfoEntry {
        model_name: name,
        litellm_params: LitellmParams {
            model: format!("gigachat/{served_by}"),
        },
        model_info: ModelInfo {
            id: name,
            key: served_by,
            mode: if embedding { "embedding" } else { "chat" },
            litellm_provider: "gigachat",
            max_input_tokens: context,
            max_output_tokens: max_output,
            max_tokens: max_output.or(context),
            supports_function_calling: !embedding,
        },
    }
}

/// `/model/info`: every alias (patterns included), then every GigaChat chat and
/// embeddings model no exact alias shadows. Models of other types (`filter`,
/// `aicheck`) serve no endpoint of the proxy and are left out.
pub(crate) fn model_info(models: &ModelList, aliases: &ModelAliases) -> Bytes {
    let mut data: Vec<ModelInfoEntry<'_>> = aliases
        .iter()
        .filter_map(|a| {
            let s = &a.settings;
            match (&s.model, &s.embeddings_model) {
                (Some(m), _) => Some(info_entry(&a.name, m, false, s.max_tokens)),
                (None, Some(e)) => Some(info_entry(&a.name, e, true, None)),
                (None, None) => None,
            }
        })
        .collect();
    let listed = listed_aliases(aliases);
    for m in unshadowed(models, &listed) {
        let kind = m.kind.as_deref();
        if catalog::is_embedder(&m.id, kind) {
            data.push(info_entry(&m.id, &m.id, true, None));
        } else if kind.is_none_or(|k| k == "chat") {
            data.push(info_entry(&m.id, &m.id, false, None));
        }
    }
    Bytes::from(serde_json::to_vec(&ModelInfoList { data }).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let l: ModelList = serde_json::from_str(r#"{"object":"list","data":[{"id":"GigaChat","object":"model","owned_by":"salutedevices","type":"chat"}]}"#).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&list(&l, &[])).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"object":"list","data":[{"id":"GigaChat","object":"model","created":0,"owned_by":"salutedevices"}]})
        );
        let v: serde_json::Value =
            serde_json::from_slice(&served("gpt-4o", "GigaChat-2-Max")).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"id":"gpt-4o","object":"model","created":0,"owned_by":"gpt2giga (served by GigaChat-2-Max)"})
        );
        let v: serde_json::Value =
            serde_json::from_slice(&anthropic_served("claude-x", "GigaChat")).unwrap();
        assert_eq!(v["display_name"], "claude-x (served by GigaChat)");
        assert_eq!(v["id"], "claude-x");
    }

    fn gigachat_list() -> ModelList {
        serde_json::from_str(
            r#"{"object":"list","data":[
                {"id":"GigaChat-2-Max","object":"model","owned_by":"salutedevices","type":"chat"},
                {"id":"GigaChat","object":"model","owned_by":"salutedevices","type":"chat"},
                {"id":"GigaFilter","object":"model","owned_by":"salutedevices","type":"filter"},
                {"id":"EmbeddingsGigaR","object":"model","owned_by":"salutedevices","type":"embedder"}]}"#,
        )
        .unwrap()
    }

    #[test]
    fn the_list_adds_exact_aliases_and_an_alias_shadows_its_namesake() {
        let aliases = ModelAliases::parse_text(
            r#"{"gpt-4o": "GigaChat-2-Max", "claude-*": "GigaChat-2", "GigaChat": "GigaChat-2-Pro"}"#,
        )
        .unwrap();
        let listed = listed_aliases(&aliases);
        let v: serde_json::Value =
            serde_json::from_slice(&list(&gigachat_list(), &listed)).unwrap();
        let ids: Vec<(&str, &str)> = v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| (m["id"].as_str().unwrap(), m["owned_by"].as_str().unwrap()))
            .collect();
        assert_eq!(
            ids,
            [
                ("GigaChat-2-Max", "salutedevices"),
                ("GigaFilter", "salutedevices"),
                ("EmbeddingsGigaR", "salutedevices"),
                ("gpt-4o", "gpt2giga (served by GigaChat-2-Max)"),
                ("GigaChat", "gpt2giga (served by GigaChat-2-Pro)"),
            ]
        );
        let v: serde_json::Value =
            serde_json::from_slice(&anthropic_list(&gigachat_list(), &listed)).unwrap();
        assert_eq!(
            v["data"][3]["display_name"],
            "gpt-4o (served by GigaChat-2-Max)"
        );
        assert_eq!(v["first_id"], "GigaChat-2-Max");
        assert_eq!(v["last_id"], "GigaChat");
    }

    #[test]
    fn model_info_has_every_alias_and_the_known_sizes() {
        let aliases = ModelAliases::parse_text(
            r#"{"claude-*": {"model": "GigaChat-2-Max", "max_tokens": 4096},
                "text-embedding-3-small": {"embeddings_model": "EmbeddingsGigaR"}}"#,
        )
        .unwrap();
        let v: serde_json::Value =
            serde_json::from_slice(&model_info(&gigachat_list(), &aliases)).unwrap();
        let data = v["data"].as_array().unwrap();
        let names: Vec<&str> = data
            .iter()
            .map(|e| e["model_name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "claude-*",
                "text-embedding-3-small",
                "GigaChat-2-Max",
                "GigaChat",
                "EmbeddingsGigaR"
            ]
        );
        assert_eq!(
            data[0],
            serde_json::json!({"model_name": "claude-*",
                "litellm_params": {"model": "gigachat/GigaChat-2-Max"},
                "model_info": {"id": "claude-*", "key": "GigaChat-2-Max", "mode": "chat",
                    "litellm_provider": "gigachat", "max_input_tokens": 128000,
                    "max_output_tokens": 4096, "max_tokens": 4096,
                    "supports_function_calling": true}})
        );
        assert_eq!(data[1]["model_info"]["mode"], "embedding");
        assert_eq!(
            data[1]["litellm_params"]["model"],
            "gigachat/EmbeddingsGigaR"
        );
        assert_eq!(data[2]["model_info"]["max_tokens"], 128000);
        assert_eq!(
            data[2]["model_info"]["max_output_tokens"],
            serde_json::Value::Null
        );
        assert_eq!(
            data[3]["model_info"]["max_input_tokens"],
            serde_json::Value::Null
        );
    }
}
