# The gpt2giga image: one static binary on `scratch` — no shell, no package manager,
# nothing to pull. Build it with `scripts/build-image.sh`: it compiles the binary for
# x86_64-unknown-linux-musl on the host and stages it, with the few other files an image
# needs, in target/image/ before running `docker build`. No Rust toolchain at hand? See
# Dockerfile.build.
FROM scratch

# Where scripts/build-image.sh staged the files, relative to the build context.
ARG STAGE=target/image
ARG VERSION=dev

LABEL org.opencontainers.image.title="gpt2giga" \
      org.opencontainers.image.description="OpenAI- and Anthropic-compatible proxy for Sber's GigaChat" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}"

# /gpt2giga, /etc/passwd and /etc/group (from docker/rootfs/: the unprivileged user
# gpt2giga, uid 10001) and a world-writable /tmp.
COPY ${STAGE}/rootfs/ /
# The working directory belongs to the user: gpt2giga.log (and a mounted .env) live here.
COPY --chown=10001:10001 ${STAGE}/app/ /app/

USER 10001:10001
WORKDIR /app

# The proxy's default host is localhost, which nobody outside the container can reach.
ENV GPT2GIGA_HOST=0.0.0.0
EXPOSE 8090

# GigaChat's certificates chain to the Russian Trusted Root CA, which public root stores
# lack: mount it and point GIGACHAT_CA_BUNDLE_FILE at it, e.g.
#   -v ./certs:/certs:ro -e GIGACHAT_CA_BUNDLE_FILE=/certs/russian_trusted_root_ca.pem

# The binary probes itself (GPT2GIGA_PORT, GPT2GIGA_USE_HTTPS): no shell or curl needed.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/gpt2giga", "healthcheck"]

ENTRYPOINT ["/gpt2giga"]
