//! The nginx pass-through: the reference a user would compare the proxy with.
//!
//! Debian's `nginx` (`nginx-light` is enough) as a plain reverse proxy in front of the
//! mock, configured like the null proxy: the same path mapping, a fixed
//! `Authorization: Bearer` token, a keep-alive upstream pool, `proxy_buffering off` so
//! streams pass frame by frame, no access log, and one process (`master_process off`)
//! so it can be pinned to one core and measured like every other target.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context as _;

/// The nginx binary: `$PATH` first, then Debian's `/usr/sbin/nginx`.
pub fn find() -> Option<PathBuf> {
    let from_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("nginx"))
            .find(|p| p.is_file())
    });
    from_path.or_else(|| {
        let p = PathBuf::from("/usr/sbin/nginx");
        p.is_file().then_some(p)
    })
}

/// `nginx -v` (printed on stderr), e.g. `nginx/1.22.1`.
pub fn version(bin: &Path) -> String {
    Command::new(bin)
        .arg("-v")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stderr).trim().to_string())
        .and_then(|v| v.rsplit(": ").next().map(str::to_string))
        .unwrap_or_else(|| "nginx".into())
}

/// The configuration for one nginx listening on `port` in front of `upstream`
/// (`127.0.0.1:PORT`), with every path it writes under `dir`.
pub fn config(dir: &Path, port: u16, upstream: &str, token: &str) -> String {
    let d = dir.display();
    format!(
        r#"# Written by gpt2giga-bench: nginx as a plain pass-through in front of gigachat-mock.
daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
worker_rlimit_nofile 65536;

events {{
    worker_connections 16384;
    multi_accept on;
}}

http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
    tcp_nodelay on;
    client_max_body_size 64m;
    client_body_buffer_size 1m;

    upstream gigachat {{
        server {upstream};
        keepalive 1024;
        keepalive_requests 1000000;
        keepalive_timeout 300s;
    }}

    server {{
        listen 127.0.0.1:{port} backlog=4096;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Authorization "Bearer {token}";
        proxy_set_header X-Api-Key "";
        proxy_buffering off;
        proxy_request_buffering off;
        proxy_read_timeout 300s;

        location = /v1/chat/completions {{ proxy_pass http://gigachat/api/v1/chat/completions; }}
        location = /v1/messages {{ proxy_pass http://gigachat/api/v1/chat/completions; }}
        location = /v1/embeddings {{ proxy_pass http://gigachat/api/v1/embeddings; }}
        location / {{ proxy_pass http://gigachat; }}
    }}
}}
"#
    )
}

/// Writes the configuration for `port` into `dir` (created) and returns the command that
/// runs nginx with it (not yet pinned: the caller wraps it).
pub fn prepare(dir: &Path, port: u16, upstream: &str, token: &str) -> anyhow::Result<PathBuf> {
    for sub in ["body", "proxy", "fastcgi", "uwsgi", "scgi"] {
        std::fs::create_dir_all(dir.join(sub))
            .with_context(|| format!("cannot create {}", dir.join(sub).display()))?;
    }
    let conf = dir.join(format!("nginx-{port}.conf"));
    std::fs::write(&conf, config(dir, port, upstream, token))
        .with_context(|| format!("cannot write {}", conf.display()))?;
    Ok(conf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_maps_paths_and_streams_unbuffered() {
        let c = config(Path::new("/tmp/n"), 8080, "127.0.0.1:9", "tok");
        assert!(c.contains("listen 127.0.0.1:8080"));
        assert!(c.contains("server 127.0.0.1:9;"));
        assert!(c.contains("proxy_buffering off;"));
        assert!(c.contains("access_log off;"));
        assert!(c.contains("master_process off;"));
        assert!(c.contains("Bearer tok"));
        assert!(c.contains(
            "location = /v1/messages { proxy_pass http://gigachat/api/v1/chat/completions; }"
        ));
    }
}
