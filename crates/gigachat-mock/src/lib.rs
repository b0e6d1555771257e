//! # gigachat-mock — a faithful GigaChat REST API emulator
//!
//! Used by tests, load benchmarks and the proxy's offline demo mode. It speaks the wire
//! format of `docs/gigachat-api.md` byte for byte where recordings exist (compact JSON,
//! key order, `data:` / `event:` SSE framing) and can be scripted, slowed down and broken
//! on purpose.
//!
//! ## Map of the crate
//!
//! * `server` — [`MockServer`]: binds a port (TCP_NODELAY), serves [`router`], shuts
//!   down gracefully.
//! * `router` — the route table and the request path: ids → recording → latency →
//!   injected fault → (API routes) auth → handler.
//! * [`MockControl`] (`control`) — the cloneable handle: script replies, inject faults,
//!   change knobs, read recordings and counters, `reset`.
//! * `control_api` — the same over HTTP under `/__mock/` for out-of-process users
//!   (Python conformance tests); see the table below.
//! * [`config`] — [`MockConfig`], every knob with its default.
//! * `auth` — OAuth (`/api/v2/oauth`), user/password (`{prefix}/token`), bearer check,
//!   per-token concurrency limit.
//! * `chat_v1`, `chat_v2` — the two chat contracts (validation → `reply` planning →
//!   JSON or SSE rendering); `stream` — SSE bodies and stream faults.
//! * [`script`] — [`Reply`], [`Rule`], [`Matcher`]: what the model says;
//!   `reply` — the default answer and `max_tokens` truncation; `builtins` — canned
//!   outputs of web search, image generation, …; [`schema`] and `regex_sample` — JSON
//!   and regex structured-output generators.
//! * `validate` — GigaChat's 400/404/422 rules and texts.
//! * `wire` — the emulator's own request and answer types (`common`, `v1`, `v2`),
//!   written from the wire reference and the cassettes. The emulator shares no wire type
//!   with the `gigachat` client crate, so a wrong field in one cannot pass unnoticed
//!   through the other; `tests/cassettes.rs` replays every recorded exchange against
//!   both.
//! * `embeddings`, `models` (models, tokens/count, balance), `files` — the small resources.
//! * [`tokens`] — deterministic token counting shared by usage and `/tokens/count`.
//! * `record` — the bounded ring buffer of [`RecordedRequest`]s; [`faults`] —
//!   [`Fault`] and [`StreamFault`].
//!
//! Why it is shaped this way: the emulator is also the upstream of a load benchmark, so
//! the hot path takes no lock across an `.await`, the config is an immutable snapshot
//! swapped whole (model lists are pre-serialised), recording can be switched off
//! (`record_capacity = 0`), and SSE frames are rendered before the body starts.
//!
//! ## Routes
//!
//! | Path | |
//! |---|---|
//! | `POST /api/v2/oauth` | OAuth: `Authorization: Basic <key>` (Bearer accepted), `RqUID`, form `scope` |
//! | `POST {/api/v1,/v1}/token` | user/password token (`{tok, exp}`) |
//! | `POST {prefix}/chat/completions` | v1 chat (JSON / SSE) |
//! | `POST /api/v2/chat/completions`, `/v2/chat/completions` | v2 chat |
//! | `POST {prefix}/embeddings`, `/tokens/count` | |
//! | `GET {prefix}/models`, `/models/{id}`, `/balance` | |
//! | `POST/GET {prefix}/files`, `GET /files/{id}`, `GET /files/{id}/content`, `POST /files/{id}/delete` | |
//!
//! Anything else answers 404 `{"status":404,"message":"Not Found"}`.
//!
//! ## Control API (`/__mock/`)
//!
//! | Method | Path | Body / query |
//! |---|---|---|
//! | POST | `/__mock/replies` | a reply or an array: `{"type":"text","text":"…"}`, `{"type":"chunks","chunks":["…","…"]}` (streamed exactly as these pieces), `{"type":"function_call","name":"f","arguments":{}}`, `{"type":"function_calls","calls":[…]}`, `{"type":"reasoning","reasoning":"…","text":"…"}`, `{"type":"blacklist"}`, `{"type":"length","text":"…"}` |
//! | DELETE | `/__mock/replies` | clear queue and rules |
//! | POST | `/__mock/rules` | `{"matcher":{"last_user_contains":"X"},"reply":{…},"times":null}` (matchers: `last_user_contains`, `last_user_starts_with`, `model`, `"after_function_result"`, `"always"`) |
//! | POST / DELETE | `/__mock/faults` | `{"status":429,"retry_after":"1","times":1,"path_suffix":"/chat/completions","body":{"json":{…}} \| {"raw":{"content_type":"text/html","body":"…"}}}` |
//! | POST | `/__mock/stream-fault` | `{"kind":"disconnect","after_chunks":1,"times":1}`, `stall`, `truncate_final`, `wrong_content_type`, or `null` |
//! | POST | `/__mock/fail-401` | `{"count":1}` |
//! | GET / POST | `/__mock/config` | read / merge a partial [`MockConfig`] (`latency_ms`, `chunk_delay_ms`, `chunk_size`, `token_shape`, `token_ttl_secs`, `concurrency_limit`, `accept_any_token`, …) |
//! | POST / DELETE | `/__mock/tokens` | register `{"token"?,"ttl_secs"?}` → `{"access_token","expires_at"}` / revoke all |
//! | GET / DELETE | `/__mock/requests` | `?path_suffix=&limit=` → recorded requests (`json` body when parseable, else `text`) / clear |
//! | GET | `/__mock/stats` | [`MockStats`] counters, chat requests in flight and their high-water mark |
//! | POST | `/__mock/max-in-flight/reset` | restart the high-water mark from the requests in flight now |
//! | POST | `/__mock/reset` | back to the start config; tokens stay valid |
//!
//! ## Default answer
//!
//! Without a script, chat answers `Hello from the GigaChat emulator! You said: <last user
//! text>`; after a function result it reports `The function <name> returned: <result>`;
//! forced functions are called with schema-generated arguments; `json_schema` /
//! `regex` formats get a conforming instance; reasoning models (`*Reasoning*`) add
//! reasoning text; the full order is documented in `src/reply.rs` and the README.

pub mod config;
pub mod faults;
pub mod schema;
pub mod script;
pub mod tokens;

mod auth;
mod builtins;
mod chat_v1;
mod chat_v2;
mod control;
mod control_api;
mod embeddings;
mod files;
mod files_api;
mod http;
mod models;
mod record;
mod regex_sample;
mod reply;
mod router;
mod server;
mod state;
mod stream;
mod validate;
mod wire;

pub use config::{BalanceEntry, FileLimits, MockConfig, ModelSpec, TokenShape};
pub use control::{MockControl, MockStats};
pub use embeddings::embed;
pub use faults::{Fault, FaultBody, StreamFault, StreamFaultKind};
pub use record::RecordedRequest;
pub use regex_sample::sample as regex_sample;
pub use reply::DEFAULT_GREETING;
pub use router::router;
pub use script::{BLACKLIST_TEXT, Matcher, Reply, Rule, ScriptedCall};
pub use server::MockServer;
