#!/usr/bin/env bash
# The whole test suite, on a fresh machine or this one: installs what is missing, starts every real
# peer (scripts/peers.sh) and stops it on exit, then runs the format check, clippy with warnings
# as errors, and every test with cargo nextest. Extra arguments go to `cargo nextest run`.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/peers.sh
source scripts/peers.sh

peers_install
if ! cargo nextest --version >/dev/null 2>&1; then
  log "cargo install cargo-nextest"
  cargo install cargo-nextest --locked
fi

echo "== cargo fmt --check"
cargo fmt --check
echo "== cargo clippy --all-targets -- -D warnings"
cargo clippy --locked --all-targets -- -D warnings
# The library, the binary, the integration tests and the demo examples' own tests (benches are
# measured by scripts/bench.sh, not run here).
targets=(--lib --bins --tests --examples)
echo "== building tests"
cargo nextest run --locked "${targets[@]}" --no-run
echo "== starting peers"
peers_start
echo "== cargo nextest run"
cargo nextest run --locked "${targets[@]}" --no-fail-fast "$@"
