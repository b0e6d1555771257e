//! The OpenAI and Anthropic Files APIs over GigaChat's file store, and `file_id`
//! references in Chat Completions, Responses and Anthropic Messages: what the client
//! gets, and what GigaChat (the emulator) received.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{TestProxy, http, json_of};
use gigachat_mock::Reply;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

const PDF: &[u8] = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n1 0 obj\n<<>>\nendobj\n";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";
const ANTHROPIC: (&str, &str) = ("anthropic-version", "2023-06-01");

fn form(name: &str, mime: &str, bytes: &[u8], purpose: Option<&str>) -> Form {
    let part = Part::bytes(bytes.to_vec())
        .file_name(name.to_string())
        .mime_str(mime)
        .unwrap();
    let f = Form::new().part("file", part);
    match purpose {
        Some(p) => f.text("purpose", p.to_string()),
        None => f,
    }
}

/// Sends `req` with extra headers.
async fn send(req: reqwest::RequestBuilder, headers: &[(&str, &str)]) -> reqwest::Response {
    headers
        .iter()
        .fold(req, |r, (k, v)| r.header(*k, *v))
        .send()
        .await
        .unwrap()
}

async fn upload(p: &TestProxy, f: Form, headers: &[(&str, &str)]) -> (u16, Value) {
    let r = send(http().post(p.at("/v1/files")).multipart(f), headers).await;
    let (s, _, v) = json_of(r).await;
    (s.as_u16(), v)
}

async fn get_json(p: &TestProxy, path: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let (s, _, v) = json_of(send(http().get(p.at(path)), headers).await).await;
    (s.as_u16(), v)
}

async fn delete_json(p: &TestProxy, path: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let (s, _, v) = json_of(send(http().delete(p.at(path)), headers).await).await;
    (s.as_u16(), v)
}

async fn content(p: &TestProxy, id: &str, headers: &[(&str, &str)]) -> (u16, Vec<u8>) {
    let r = send(
        http().get(p.at(&format!("/v1/files/{id}/content"))),
        headers,
    )
    .await;
    (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
}

/// The `attachments` of every chat message GigaChat received last.
fn sent_attachments(p: &TestProxy) -> Vec<Value> {
    p.last_chat()["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m.get("attachments").cloned())
        .collect()
}

/// Uploads GigaChat received.
fn uploads(p: &TestProxy) -> usize {
    p.ctl()
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/files"))
        .count()
}

#[tokio::test]
async fn openai_files_round_trip() {
    let p = TestProxy::start().await;
    let (s, f) = upload(
        &p,
        form("report.pdf", "application/pdf", PDF, Some("user_data")),
        &[],
    )
    .await;
    assert_eq!(s, 200, "{f}");
    let id = f["id"].as_str().unwrap().to_string();
    assert_eq!(f["object"], "file");
    assert_eq!(f["bytes"], PDF.len());
    assert_eq!(f["filename"], "report.pdf");
    assert_eq!(f["purpose"], "user_data");
    assert_eq!(f["status"], "processed");
    assert!(f["created_at"].as_i64().unwrap() > 1_700_000_000);
    // GigaChat got the file with its type and purpose `general`.
    let up = p
        .ctl()
        .requests()
        .into_iter()
        .rfind(|r| r.method == "POST" && r.path.ends_with("/files"))
        .unwrap();
    let raw = String::from_utf8_lossy(&up.body).into_owned();
    assert!(raw.contains("Content-Type: application/pdf"), "{raw}");
    assert!(raw.contains("name=\"purpose\"\r\n\r\ngeneral"), "{raw}");

    // A second file; the list is newest first by default, ascending on request.
    let (_, g) = upload(
        &p,
        form(
            "notes.txt",
            "text/plain",
            b"hello notes",
            Some("assistants"),
        ),
        &[],
    )
    .await;
    let gid = g["id"].as_str().unwrap().to_string();
    assert_eq!(g["purpose"], "user_data");
    let (s, list) = get_json(&p, "/v1/files", &[]).await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(list["object"], "list");
    let ids: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&id.as_str()) && ids.contains(&gid.as_str()));
    let (_, page) = get_json(&p, "/v1/files?order=asc&limit=1", &[]).await;
    assert_eq!(page["data"].as_array().unwrap().len(), 1);
    assert_eq!(page["has_more"], true);
    let first = page["last_id"].as_str().unwrap().to_string();
    let (_, rest) = get_json(&p, &format!("/files?order=asc&after={first}"), &[]).await;
    assert_eq!(rest["data"].as_array().unwrap().len(), 1);
    assert_eq!(rest["has_more"], false);
    assert_ne!(rest["data"][0]["id"].as_str().unwrap(), first);
    let (_, none) = get_json(&p, "/v1/files?purpose=batch", &[]).await;
    assert_eq!(none["data"], json!([]));

    // Retrieve and content.
    let (s, one) = get_json(&p, &format!("/v1/files/{id}"), &[]).await;
    assert_eq!(s, 200);
    assert_eq!(one, f);
    let (s, bytes) = content(&p, &id, &[]).await;
    assert_eq!(s, 200);
    assert_eq!(bytes, PDF);

    // Delete, then 404 everywhere in OpenAI's envelope.
    let (s, d) = delete_json(&p, &format!("/v1/files/{id}"), &[]).await;
    assert_eq!(s, 200);
    assert_eq!(d, json!({"id": id, "object": "file", "deleted": true}));
    let (s, e) = get_json(&p, &format!("/v1/files/{id}"), &[]).await;
    assert_eq!(s, 404, "{e}");
    assert_eq!(e["error"]["code"], "not_found");
    assert!(e["error"]["message"].as_str().unwrap().contains(&id), "{e}");
    assert_eq!(content(&p, &id, &[]).await.0, 404);
    assert_eq!(
        delete_json(&p, &format!("/v1/files/{id}"), &[]).await.0,
        404
    );
}

#[tokio::test]
async fn anthropic_files_round_trip() {
    let p = TestProxy::start().await;
    let beta = [ANTHROPIC, ("anthropic-beta", "files-api-2025-04-14")];
    let (s, f) = upload(&p, form("doc.pdf", "application/pdf", PDF, None), &beta).await;
    assert_eq!(s, 200, "{f}");
    let id = f["id"].as_str().unwrap().to_string();
    assert_eq!(f["type"], "file");
    assert_eq!(f["filename"], "doc.pdf");
    assert_eq!(f["mime_type"], "application/pdf");
    assert_eq!(f["size_bytes"], PDF.len());
    assert_eq!(f["downloadable"], true);
    assert!(f["created_at"].as_str().unwrap().ends_with('Z'), "{f}");
    // The beta header is not required.
    let (s, g) = upload(&p, form("pic.png", "image/png", PNG, None), &[ANTHROPIC]).await;
    assert_eq!(s, 200, "{g}");
    assert_eq!(g["mime_type"], "image/png");

    let (s, list) = get_json(&p, "/v1/files?limit=1", &[ANTHROPIC]).await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert_eq!(list["has_more"], true);
    let next = list["next_page"].as_str().unwrap().to_string();
    let last = list["last_id"].as_str().unwrap().to_string();
    let (_, more) = get_json(&p, &format!("/v1/files?limit=1&page={next}"), &[ANTHROPIC]).await;
    assert_eq!(more["has_more"], false);
    assert_eq!(more["next_page"], Value::Null);
    let (_, after) = get_json(&p, &format!("/v1/files?after_id={last}"), &[ANTHROPIC]).await;
    assert_eq!(after["data"], more["data"]);

    let (s, one) = get_json(&p, &format!("/v1/files/{id}"), &beta).await;
    assert_eq!(s, 200);
    assert_eq!(one, f);
    assert_eq!(content(&p, &id, &beta).await, (200, PDF.to_vec()));
    let (s, d) = delete_json(&p, &format!("/v1/files/{id}"), &beta).await;
    assert_eq!(s, 200);
    assert_eq!(d, json!({"id": id, "type": "file_deleted"}));
    let (s, e) = get_json(&p, &format!("/v1/files/{id}"), &beta).await;
    assert_eq!(s, 404);
    assert_eq!(e["type"], "error");
    assert_eq!(e["error"]["type"], "not_found_error");

    // Anthropic's errors for Anthropic callers: an OpenAI purpose is not a field here.
    let (s, e) = upload(
        &p,
        form("a.txt", "text/plain", b"x", Some("user_data")),
        &[ANTHROPIC],
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(e["error"]["type"], "invalid_request_error", "{e}");
}

#[tokio::test]
async fn limits_and_bad_input() {
    let p = TestProxy::start_with(&["--proxy.max-text-file-size-bytes", "1000"], &[]).await;
    let before = uploads(&p);

    // Over the kind's cap: 413 naming the limit, in each dialect.
    let big = vec![b'a'; 2000];
    let (s, e) = upload(
        &p,
        form("big.txt", "text/plain", &big, Some("user_data")),
        &[],
    )
    .await;
    assert_eq!(s, 413, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("1000 bytes"),
        "{e}"
    );
    let (s, e) = upload(&p, form("big.txt", "text/plain", &big, None), &[ANTHROPIC]).await;
    assert_eq!(s, 413, "{e}");
    assert_eq!(e["error"]["type"], "request_too_large", "{e}");

    // Over the body cap of /files (the largest kind's cap plus framing): 413 before reading.
    let huge = vec![b'a'; 40 * 1024 * 1024 + 200 * 1024];
    let (s, e) = upload(
        &p,
        form("huge.pdf", "application/pdf", &huge, Some("user_data")),
        &[],
    )
    .await;
    assert_eq!(s, 413, "{e}");
    assert!(
        e["error"]["message"].as_str().unwrap().contains("/files"),
        "{e}"
    );

    // Unsupported type: 400 naming what GigaChat accepts.
    let gif = b"GIF89a\x01\0\x01\0\x80\0\0\0\0\0\xFF\xFF\xFF";
    let (s, e) = upload(&p, form("a.gif", "image/gif", gif, Some("user_data")), &[]).await;
    assert_eq!(s, 400, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("image/gif"),
        "{e}"
    );
    let (s, e) = upload(
        &p,
        form(
            "a.zip",
            "application/zip",
            b"PK\x03\x04zzzz",
            Some("user_data"),
        ),
        &[],
    )
    .await;
    assert_eq!(s, 400, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("GigaChat accepts"),
        "{e}"
    );

    // Purposes the proxy cannot honour, a missing purpose or file, a non-multipart body.
    let (s, e) = upload(&p, form("a.txt", "text/plain", b"x", Some("batch")), &[]).await;
    assert_eq!(
        (s, e["error"]["param"].as_str()),
        (400, Some("purpose")),
        "{e}"
    );
    let (s, _) = upload(&p, form("a.txt", "text/plain", b"x", None), &[]).await;
    assert_eq!(s, 400);
    let (s, e) = upload(&p, Form::new().text("purpose", "user_data"), &[]).await;
    assert_eq!(
        (s, e["error"]["param"].as_str()),
        (400, Some("file")),
        "{e}"
    );
    let (s, _, e) = json_of(p.post("/v1/files", &json!({"file": "x"})).await).await;
    assert_eq!(s, 400, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("multipart"),
        "{e}"
    );

    // Bad ids never reach GigaChat; bad list parameters are 400s.
    for path in ["/v1/files/a.b", "/v1/files/a%2F..%2Fb/content"] {
        let (s, e) = get_json(&p, path, &[]).await;
        assert!(s == 400 || s == 404, "{path}: {s} {e}");
    }
    let (s, e) = get_json(&p, "/v1/files/bad.id", &[]).await;
    assert_eq!(s, 400, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("invalid file id"),
        "{e}"
    );
    for q in ["limit=0", "order=sideways", "after=nope", "colour=red"] {
        let (s, e) = get_json(&p, &format!("/v1/files?{q}"), &[]).await;
        assert_eq!(s, 400, "{q}: {e}");
    }
    let (s, _) = get_json(&p, "/v1/files?after_id=x&before_id=y", &[ANTHROPIC]).await;
    assert_eq!(s, 400);
    assert_eq!(uploads(&p), before, "nothing was uploaded");
    assert!(
        p.ctl().requests().iter().all(|r| !r.path.contains("bad")),
        "a bad id reached GigaChat"
    );
}

#[tokio::test]
async fn files_are_scoped_to_the_callers_gigachat_identity() {
    let p = TestProxy::start_with(&["--proxy.pass-token", "true"], &[]).await;
    let alice = format!("Bearer giga-auth-{}", p.ctl().issue_static_token());
    let bob = format!("Bearer giga-auth-{}", p.ctl().issue_static_token());
    let a = [("authorization", alice.as_str())];
    let b = [("authorization", bob.as_str())];
    let (s, f) = upload(
        &p,
        form("a.txt", "text/plain", b"alice's", Some("user_data")),
        &a,
    )
    .await;
    assert_eq!(s, 200, "{f}");
    let id = f["id"].as_str().unwrap().to_string();

    let (_, la) = get_json(&p, "/v1/files", &a).await;
    assert_eq!(la["data"].as_array().unwrap().len(), 1);
    let (_, lb) = get_json(&p, "/v1/files", &b).await;
    assert_eq!(lb["data"], json!([]));
    let (_, lserver) = get_json(&p, "/v1/files", &[]).await;
    assert_eq!(lserver["data"], json!([]));
    assert_eq!(get_json(&p, &format!("/v1/files/{id}"), &b).await.0, 404);
    assert_eq!(content(&p, &id, &b).await.0, 404);
    assert_eq!(delete_json(&p, &format!("/v1/files/{id}"), &b).await.0, 404);

    // Bob cannot attach Alice's file either.
    let body = json!({"model": "gpt-4o", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "read"}, {"type": "file", "file": {"file_id": id}}]}]});
    let r = send(http().post(p.at("/v1/chat/completions")).json(&body), &b).await;
    let (s, _, e) = json_of(r).await;
    assert_eq!(s, 400, "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains(&id), "{e}");
    assert_eq!(e["error"]["param"], "messages[0].content[1]");
    // Alice can.
    p.ctl().push_replies([Reply::text("read it")]);
    let r = send(http().post(p.at("/v1/chat/completions")).json(&body), &a).await;
    let (s, _, v) = json_of(r).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(sent_attachments(&p), vec![json!([id])]);
    assert_eq!(content(&p, &id, &a).await, (200, b"alice's".to_vec()));
}

#[tokio::test]
async fn file_ids_reach_gigachat_as_attachments_without_reupload() {
    let p = TestProxy::start().await;
    let (_, doc) = upload(
        &p,
        form("r.pdf", "application/pdf", PDF, Some("user_data")),
        &[],
    )
    .await;
    let (_, img) = upload(&p, form("i.png", "image/png", PNG, Some("vision")), &[]).await;
    let doc = doc["id"].as_str().unwrap().to_string();
    let img = img["id"].as_str().unwrap().to_string();
    let before = uploads(&p);

    // Chat Completions `file` part.
    p.ctl().push_replies([Reply::text("ok")]);
    let (s, _, v) = json_of(
        p.post(
            "/v1/chat/completions",
            &json!({"model": "gpt-4o", "messages": [
        {"role": "user", "content": [{"type": "text", "text": "sum up"},
            {"type": "file", "file": {"file_id": doc}}]}]}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(sent_attachments(&p), vec![json!([doc])]);

    // Responses `input_file` and `input_image` by id.
    p.ctl().push_replies([Reply::text("ok")]);
    let (s, _, v) = json_of(
        p.post(
            "/v1/responses",
            &json!({"model": "gpt-4o", "input": [
        {"role": "user", "content": [{"type": "input_text", "text": "look"},
            {"type": "input_file", "file_id": doc}]},
        {"role": "user", "content": [{"type": "input_image", "file_id": img}]}]}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(sent_attachments(&p), vec![json!([doc]), json!([img])]);

    // Anthropic `document` and `image` blocks with a `file` source.
    p.ctl().push_replies([Reply::text("ok")]);
    let (s, _, v) = json_of(
        p.post(
            "/v1/messages",
            &json!({"model": "claude-x", "max_tokens": 50,
        "messages": [{"role": "user", "content": [
            {"type": "document", "source": {"type": "file", "file_id": doc}},
            {"type": "text", "text": "and"}]},
        {"role": "assistant", "content": "yes"},
        {"role": "user", "content": [
            {"type": "image", "source": {"type": "file", "file_id": img}}]}]}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(sent_attachments(&p), vec![json!([doc]), json!([img])]);
    assert_eq!(uploads(&p), before, "a referenced file was uploaded again");

    // Image limits count a stored image: two in one message are refused.
    let (s, _, e) = json_of(p.post("/v1/chat/completions", &json!({"model": "gpt-4o", "messages": [
        {"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": format!("data:image/png;base64,{}", b64(PNG))}},
            {"type": "file", "file": {"file_id": img}}]}]})).await).await;
    assert_eq!(s, 400, "{e}");
    assert!(
        e["error"]["message"].as_str().unwrap().contains("2 images"),
        "{e}"
    );

    // Unknown and malformed ids: 400s naming them, in each dialect.
    let (s, _, e) = json_of(
        p.post(
            "/v1/chat/completions",
            &json!({"model": "gpt-4o", "messages": [
        {"role": "user", "content": [{"type": "file", "file": {"file_id": "no-such-file"}}]}]}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 400, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no-such-file"),
        "{e}"
    );
    let (s, _, e) = json_of(
        p.post(
            "/v1/messages",
            &json!({"model": "claude-x", "max_tokens": 5,
        "messages": [{"role": "user", "content": [
            {"type": "image", "source": {"type": "file", "file_id": "../../balance"}}]}]}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 400, "{e}");
    assert_eq!(e["type"], "error");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("invalid file id"),
        "{e}"
    );
    let (s, _, e) = json_of(
        p.post(
            "/v1/responses",
            &json!({"model": "gpt-4o", "input": [
        {"role": "user", "content": [{"type": "input_file", "file_id": "gone"}]}]}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 400, "{e}");
    assert!(
        e["error"]["message"].as_str().unwrap().contains("gone"),
        "{e}"
    );
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
