#!/usr/bin/env bash
# The whole test suite, on a fresh machine or this one: installs what is missing, starts every real
# peer (scripts/peers.sh) and stops it on exit, then runs the format check, clippy with warnings
# as errors, and every test with cargo nextest, then fuzzes every decoder of peer bytes for a
# short while (scripts/fuzz.sh; OSPREY_FUZZ_SECONDS per target, default 20, 0 skips it). Extra
# arguments go to `cargo nextest run`.
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
fuzz_seconds=${OSPREY_FUZZ_SECONDS:-20}
if [ "$fuzz_seconds" != 0 ]; then
  echo "== building fuzz targets"
  bash scripts/fuzz.sh build
fi
echo "== starting peers"
peers_start
echo "== cargo nextest run"
status=0
cargo nextest run --locked "${targets[@]}" --no-fail-fast "$@" || status=$?
# The peers' JVMs would take the fuzzers' CPU.
peers_stop
if [ "$fuzz_seconds" != 0 ]; then
  echo "== fuzzing (${fuzz_seconds}s per target)"
  bash scripts/fuzz.sh run "$fuzz_seconds" || status=1
fi
exit "$status"
