//! The bottom layer every other layer reports through: the request's identity and its
//! measurements. Imports nothing from `upstream`, `dialect`, `server` or `app`.
//!
//! * [`RequestId`] — the id of the current request (a request extension);
//! * [`metrics`] — the Prometheus families and the per-request timing scope that
//!   `upstream` (GigaChat calls, waits), `dialect` (models) and `server` (the
//!   middleware, `/metrics`) record into;
//! * [`traffic`] — the traffic log's per-request capture (filled through the same
//!   scope when the log is on) and the queue it is handed to;
//! * [`traces`] — OpenTelemetry spans per request and per GigaChat call (OTLP/HTTP).

pub mod metrics;
pub mod traces;
pub mod traffic;

/// The request id of the current request, as a request extension.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);
