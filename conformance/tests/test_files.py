"""OpenAI `files.*` and Anthropic `beta.files.*` through the official SDKs, and files
referenced by id in a chat completion and a message."""

from __future__ import annotations

import anthropic
import openai
import pytest

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"


def attachments(mock) -> list[list[str]]:
    return [m["attachments"] for m in mock.last_chat()["messages"] if "attachments" in m]


def test_openai_files_lifecycle_and_file_id_in_chat(openai_client, mock):
    created = openai_client.files.create(file=("report.pdf", PDF, "application/pdf"), purpose="user_data")
    assert created.object == "file"
    assert created.filename == "report.pdf"
    assert created.bytes == len(PDF)
    assert created.purpose == "user_data"
    assert created.status == "processed"

    listed = openai_client.files.list()
    assert [f.id for f in listed] == [created.id]
    assert [f.id for f in openai_client.files.list(purpose="user_data", order="asc", limit=5)] == [created.id]

    got = openai_client.files.retrieve(created.id)
    assert got.id == created.id and got.filename == "report.pdf" and got.bytes == len(PDF)
    assert openai_client.files.content(created.id).read() == PDF

    mock.text("It is a PDF.")
    answer = openai_client.chat.completions.create(
        model="gpt-4o",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "file", "file": {"file_id": created.id}},
                ],
            }
        ],
    )
    assert answer.choices[0].message.content == "It is a PDF."
    assert attachments(mock) == [[created.id]]

    deleted = openai_client.files.delete(created.id)
    assert deleted.id == created.id and deleted.deleted is True
    with pytest.raises(openai.NotFoundError):
        openai_client.files.retrieve(created.id)


def test_openai_files_refuse_unsupported_types_and_purposes(openai_client):
    with pytest.raises(openai.BadRequestError) as e:
        openai_client.files.create(file=("a.gif", b"GIF89a\x01\x00\x01\x00", "image/gif"), purpose="user_data")
    assert "image/gif" in str(e.value)
    with pytest.raises(openai.BadRequestError) as e:
        openai_client.files.create(file=("a.jsonl", b"{}\n", "application/jsonl"), purpose="batch")
    assert "purpose" in str(e.value)


def test_anthropic_files_lifecycle_and_file_source_in_message(claude, mock):
    meta = claude.beta.files.upload(file=("pic.png", PNG, "image/png"))
    assert meta.type == "file"
    assert meta.filename == "pic.png"
    assert meta.mime_type == "image/png"
    assert meta.size_bytes == len(PNG)
    assert meta.downloadable is True
    doc = claude.beta.files.upload(
        file=("doc.pdf", PDF, "application/pdf"), betas=["files-api-2025-04-14"]
    )

    page = claude.beta.files.list(limit=1)
    assert len(page.data) == 1
    ids = [f.id for f in claude.beta.files.list(limit=1)]  # auto-paginates
    assert sorted(ids) == sorted([meta.id, doc.id])

    got = claude.beta.files.retrieve_metadata(meta.id)
    assert got.id == meta.id and got.mime_type == "image/png"
    assert claude.beta.files.download(meta.id).read() == PNG

    mock.text("A tiny image and a PDF.")
    message = claude.messages.create(
        model="claude-sonnet-4-5",
        max_tokens=100,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "document", "source": {"type": "file", "file_id": doc.id}},
                    {"type": "text", "text": "What are these?"},
                ],
            },
            {"role": "assistant", "content": "Let me see."},
            {"role": "user", "content": [{"type": "image", "source": {"type": "file", "file_id": meta.id}}]},
        ],
    )
    assert message.content[0].text == "A tiny image and a PDF."
    assert attachments(mock) == [[doc.id], [meta.id]]

    deleted = claude.beta.files.delete(meta.id)
    assert deleted.id == meta.id and deleted.type == "file_deleted"
    with pytest.raises(anthropic.NotFoundError):
        claude.beta.files.retrieve_metadata(meta.id)
    with pytest.raises(anthropic.BadRequestError) as e:
        claude.messages.create(
            model="claude-sonnet-4-5",
            max_tokens=10,
            messages=[{"role": "user", "content": [{"type": "image", "source": {"type": "file", "file_id": meta.id}}]}],
        )
    assert meta.id in str(e.value)
