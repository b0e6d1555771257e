#!/usr/bin/env bash
# Builds the gpt2giga container image without any registry: a fully static binary for
# x86_64-unknown-linux-musl (rustls, no OpenSSL) compiled on this machine, staged in
# target/image/, then `docker build` of the `FROM scratch` Dockerfile (which pulls nothing).
#
#   scripts/build-image.sh                   → gpt2giga:latest
#   IMAGE=gpt2giga:0.1.0 scripts/build-image.sh
#
# Honours CARGO_TARGET_DIR (where cargo builds) and DOCKER_HOST (which daemon builds the
# image). Needs: rustup (or a toolchain with the musl target), musl-gcc (Debian:
# musl-tools) for ring's C code, and docker. Prints the image size at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=x86_64-unknown-linux-musl
IMAGE="${IMAGE:-gpt2giga:latest}"
STAGE=target/image

step() { printf '\n==> %s\n' "$*"; }
die() {
  printf 'build-image: %s\n' "$*" >&2
  exit 1
}

command -v docker >/dev/null 2>&1 || die "docker is not installed (Debian: apt-get install docker.io)"

# The Rust standard library for the musl target.
if command -v rustup >/dev/null 2>&1; then
  if ! rustup target list --installed | grep -qx "$TARGET"; then
    step "rustup target add $TARGET"
    rustup target add "$TARGET" ||
      die "cannot install the Rust target $TARGET (rustup target add $TARGET failed); install it and run this script again"
  fi
elif [ ! -d "$(rustc --print sysroot)/lib/rustlib/$TARGET" ]; then
  die "the Rust target $TARGET is not installed and rustup is not available to add it"
fi

# ring compiles C and assembly: it needs a C compiler for musl.
if [ -z "${CC_x86_64_unknown_linux_musl:-}" ] && ! command -v musl-gcc >/dev/null 2>&1 &&
  ! command -v x86_64-linux-musl-gcc >/dev/null 2>&1; then
  die "no C compiler for $TARGET: install musl-gcc (Debian: apt-get install musl-tools) or set CC_x86_64_unknown_linux_musl"
fi

# The variables cargo sets for a package's tests and build scripts (present when a test
# runs this script) are watched by some build scripts (ring's): inherited, they would
# invalidate those and rebuild half the dependency tree. They are never configuration.
for var in $(compgen -e); do
  case "$var" in
    CARGO_PKG_* | CARGO_MANIFEST_* | CARGO_CRATE_NAME | CARGO_BIN_* | CARGO_PRIMARY_PACKAGE | \
      CARGO_TARGET_TMPDIR | CARGO_CFG_* | CARGO_FEATURE_* | OUT_DIR) unset "$var" ;;
  esac
done

step "cargo build --release --locked --target $TARGET -p gpt2giga"
cargo build --release --locked --target "$TARGET" -p gpt2giga

target_dir="$(cargo metadata --format-version 1 --no-deps --locked |
  sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
[ -n "$target_dir" ] || die "cannot find cargo's target directory (cargo metadata)"
binary="$target_dir/$TARGET/release/gpt2giga"
[ -x "$binary" ] || die "the build did not produce $binary"
# A dynamically linked binary would not start in an empty image.
if command -v file >/dev/null 2>&1; then
  file -b "$binary" | grep -Eq 'static(-pie)? linked' ||
    die "$binary is not statically linked: $(file -b "$binary")"
fi

# rootfs/ becomes the image's / (owned by root, modes kept); app/ becomes /app, owned by
# the unprivileged user. Empty directories cannot live in git, hence the staging.
step "staging $STAGE"
rm -rf "$STAGE"
mkdir -p "$STAGE/rootfs/tmp" "$STAGE/app"
cp -R docker/rootfs/. "$STAGE/rootfs/"
cp "$binary" "$STAGE/rootfs/gpt2giga"
chmod 0755 "$STAGE/rootfs/gpt2giga" "$STAGE/app"
chmod 0644 "$STAGE/rootfs/etc/passwd" "$STAGE/rootfs/etc/group"
chmod 1777 "$STAGE/rootfs/tmp"

version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)"

# The classic builder unless BuildKit's client (buildx) is there to use: a `docker` CLI
# without buildx refuses to build when BuildKit is requested.
if [ -z "${DOCKER_BUILDKIT:-}" ] && ! docker buildx version >/dev/null 2>&1; then
  export DOCKER_BUILDKIT=0
fi

step "docker build -t $IMAGE"
docker build --pull=false \
  --build-arg "STAGE=$STAGE" \
  --build-arg "VERSION=${version:-dev}" \
  -t "$IMAGE" \
  -f Dockerfile .

size="$(docker image inspect -f '{{.Size}}' "$IMAGE")"
printf '\n%s: %s bytes (%s MiB)\n' "$IMAGE" "$size" "$(awk -v s="$size" 'BEGIN { printf "%.1f", s / 1048576 }')"
