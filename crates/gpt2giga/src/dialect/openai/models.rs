//! GigaChat model list → OpenAI `list` / `model` objects.

use bytes::Bytes;
use gigachat::types::{Model, ModelList};
use serde::Serialize;

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

pub fn list(models: &ModelList) -> Bytes {
    let body = ListOut {
        object: "list",
        data: models.data.iter().map(model_out).collect(),
    };
    Bytes::from(serde_json::to_vec(&body).unwrap_or_default())
}

pub fn one(model: &Model) -> Bytes {
    Bytes::from(serde_json::to_vec(&model_out(model)).unwrap_or_default())
}

/// A name GigaChat does not know, answered because the proxy serves every requested
/// model with `served_by` (`--proxy.pass-model` off): `owned_by` names that model.
pub(crate) fn served(id: &str, served_by: &str) -> Bytes {
    let owned_by = format!("gpt2giga (served by {served_by})");
    let body = ModelOut {
        id,
        object: "model",
        created: 0,
        owned_by: &owned_by,
    };
    Bytes::from(serde_json::to_vec(&body).unwrap_or_default())
}

/// [`served`] in Anthropic's shape: `display_name` names the GigaChat model.
pub(crate) fn anthropic_served(id: &str, served_by: &str) -> Bytes {
    let display_name = format!("{id} (served by {served_by})");
    let body = AnthropicModel {
        kind: "model",
        id,
        display_name: &display_name,
        created_at: "1970-01-01T00:00:00Z",
    };
    Bytes::from(serde_json::to_vec(&body).unwrap_or_default())
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
pub(crate) fn anthropic_list(models: &ModelList) -> Bytes {
    let data: Vec<AnthropicModel<'_>> = models.data.iter().map(anthropic_model).collect();
    let body = serde_json::json!({
        "data": data,
        "has_more": false,
        "first_id": models.data.first().map(|m| m.id.as_str()),
        "last_id": models.data.last().map(|m| m.id.as_str()),
    });
    Bytes::from(serde_json::to_vec(&body).unwrap_or_default())
}

pub(crate) fn anthropic_one(model: &Model) -> Bytes {
    Bytes::from(serde_json::to_vec(&anthropic_model(model)).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let l: ModelList = serde_json::from_str(r#"{"object":"list","data":[{"id":"GigaChat","object":"model","owned_by":"salutedevices","type":"chat"}]}"#).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&list(&l)).unwrap();
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
}
