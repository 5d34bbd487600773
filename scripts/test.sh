#!/usr/bin/env bash
# test.sh - the project's test command: prepares what the tests need, then
# runs `cargo test` over all targets.
#
#   ./scripts/test.sh [extra cargo test arguments]
#
# On a fresh Debian machine with the Rust toolchain (rustup), Python >= 3.10
# (with the venv module) and curl, it:
#   1. installs redis-server with apt-get when it is missing (as root, or
#      through sudo when that is available), because the tests start their
#      own Redis servers;
#   2. adds the wasm32-wasip2 rustup target when it is missing, because the
#      plugin tests build plugins for it;
#   3. builds the django-oscar shop with examples/oscar/setup.sh into
#      $FOOTPRINT_OSCAR_HOME (default .oscar/ at the repository root), which
#      needs PyPI access on the first run only;
#   4. installs schemathesis $SCHEMATHESIS_VERSION from PyPI into
#      .tools/venv (first run only, or when the version changes) for the
#      admin API's OpenAPI check;
#   5. runs `cargo test --all-targets` with FOOTPRINT_OSCAR_HOME and
#      FOOTPRINT_SCHEMATHESIS exported, FOOTPRINT_REQUIRE_OSCAR=1 and
#      FOOTPRINT_REQUIRE_SCHEMATHESIS=1, so the tests that need the shop or
#      schemathesis fail instead of skipping when it is missing;
#   6. runs the documentation tests (`cargo test --doc`), which
#      `--all-targets` leaves out, unless arguments select other tests.
#   7. runs the unit tests of the example plugins in plugins/ (each its own
#      crate, outside the workspace) on the host, unless arguments select
#      other tests. The plugin components themselves are built by the tests
#      that load them.
# Arguments go to the `cargo test --all-targets` run, e.g. `--test oscar_e2e`.
# Any failing step stops the script with a non-zero exit status.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

log() { printf '[test.sh] %s\n' "$*"; }
fail() { printf '[test.sh] FAILED: %s\n' "$*" >&2; exit 1; }
trap 'fail "command \`$BASH_COMMAND\` exited with status $? (line $LINENO)"' ERR

# Runs a command as root: directly when already root, else through sudo.
as_root() {
  if [ "$(id -u)" = 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    fail "'$*' needs root, and sudo is not installed; run it as root and retry"
  fi
}

log "step 1/7: redis-server"
if command -v redis-server >/dev/null 2>&1; then
  log "redis-server found: $(command -v redis-server)"
else
  command -v apt-get >/dev/null 2>&1 || fail "redis-server is missing and apt-get is not available; install redis-server and retry"
  log "redis-server missing: installing it with apt-get"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server
  command -v redis-server >/dev/null 2>&1 || fail "redis-server is still missing after apt-get install"
fi

log "step 2/7: rustup target wasm32-wasip2"
command -v rustup >/dev/null 2>&1 || fail "rustup is missing; install the Rust toolchain with rustup"
if rustup target list --installed | grep -qx wasm32-wasip2; then
  log "wasm32-wasip2 already installed"
else
  log "adding rustup target wasm32-wasip2"
  rustup target add wasm32-wasip2
fi

log "step 3/7: django-oscar shop"
export FOOTPRINT_OSCAR_HOME="${FOOTPRINT_OSCAR_HOME:-$REPO_ROOT/.oscar}"
OSCAR_HOME="$FOOTPRINT_OSCAR_HOME" "$REPO_ROOT/examples/oscar/setup.sh"

log "step 4/7: schemathesis"
SCHEMATHESIS_VERSION=4.32.5
TOOLS_VENV="$REPO_ROOT/.tools/venv"
export FOOTPRINT_SCHEMATHESIS="$TOOLS_VENV/bin/schemathesis"
if [ -x "$FOOTPRINT_SCHEMATHESIS" ] && "$FOOTPRINT_SCHEMATHESIS" --version 2>/dev/null | grep -qx "schemathesis, version $SCHEMATHESIS_VERSION"; then
  log "schemathesis $SCHEMATHESIS_VERSION found: $FOOTPRINT_SCHEMATHESIS"
else
  log "installing schemathesis $SCHEMATHESIS_VERSION into $TOOLS_VENV"
  python3 -m venv "$TOOLS_VENV"
  "$TOOLS_VENV/bin/pip" install --quiet "schemathesis==$SCHEMATHESIS_VERSION"
fi

# Every cargo test run is copied to this log, so the last line can total the
# results of all test binaries.
RESULTS="$(mktemp)"
trap 'rm -f "$RESULTS"' EXIT

log "step 5/7: cargo test --all-targets $*"
export FOOTPRINT_REQUIRE_OSCAR=1
export FOOTPRINT_REQUIRE_SCHEMATHESIS=1
cargo test --all-targets "$@" 2>&1 | tee -a "$RESULTS"

if [ $# -eq 0 ]; then
  log "step 6/7: cargo test --doc"
  cargo test --doc 2>&1 | tee -a "$RESULTS"
else
  log "step 6/7: skipped (cargo test --doc), because arguments select tests"
fi

if [ $# -eq 0 ]; then
  log "step 7/7: unit tests of the example plugins"
  for manifest in plugins/*/Cargo.toml; do
    cargo test --manifest-path "$manifest" --target-dir target/plugins 2>&1 | tee -a "$RESULTS"
  done
else
  log "step 7/7: skipped (plugin unit tests), because arguments select tests"
fi

log "all steps passed"
awk '/^test result:/ { for (i = 2; i <= NF; i++) { if ($i ~ /^passed/) p += $(i - 1); if ($i ~ /^failed/) f += $(i - 1) } }
     END { printf "total: %d passed, %d failed\n", p, f }' "$RESULTS"
