-- The traffic log: one row per request (see src/traffic/). Times are Unix
-- milliseconds, durations microseconds; `truncated` is a bit set (1 client request,
-- 2 GigaChat request, 4 GigaChat answer, 8 client answer); `size_bytes` is what the
-- row weighs for the size budget.
CREATE TABLE traffic (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts_ms BIGINT NOT NULL,
    request_id TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    route TEXT NOT NULL,
    dialect TEXT NOT NULL,
    client_model TEXT,
    gigachat_model TEXT,
    identity TEXT,
    status BIGINT NOT NULL,
    error TEXT,
    stream BIGINT NOT NULL,
    queue_us BIGINT NOT NULL,
    upload_us BIGINT NOT NULL,
    first_byte_us BIGINT,
    total_us BIGINT NOT NULL,
    input_tokens BIGINT,
    output_tokens BIGINT,
    cached_tokens BIGINT,
    client_request TEXT,
    gigachat_request TEXT,
    gigachat_response TEXT,
    client_response TEXT,
    truncated BIGINT NOT NULL,
    size_bytes BIGINT NOT NULL
);
-- "The last 100 for this model / status / dialect": an index seek, then `id` order.
CREATE INDEX traffic_client_model ON traffic (client_model, id);
CREATE INDEX traffic_gigachat_model ON traffic (gigachat_model, id);
CREATE INDEX traffic_status ON traffic (status, id);
CREATE INDEX traffic_dialect ON traffic (dialect, id);
CREATE INDEX traffic_ts ON traffic (ts_ms);
CREATE INDEX traffic_request_id ON traffic (request_id);
