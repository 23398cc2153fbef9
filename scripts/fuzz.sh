#!/usr/bin/env bash
# Fuzzes every decoder that reads bytes from a peer — RocketMQ frames and bodies, stored
# messages, Kafka responses, member assignments, Prometheus text, Jolokia JSON, beanstalkd's and
# Gearman's answers (fuzz/fuzz_targets, entry points in src/fuzzing.rs) — with libFuzzer through
# cargo fuzz, starting from the seeds recorded from the real servers (fuzz/seeds,
# fuzz/capture/record.sh and job_servers.py).
#
#   scripts/fuzz.sh build           builds the targets
#   scripts/fuzz.sh run [SECONDS]   runs each target SECONDS (default 20) after building
#
# Stable Rust, no sanitizer (the code is safe Rust): libFuzzer still catches panics, aborts (a
# failed allocation among them), a resident size past 2 GB and inputs that take over 10 s. A finding leaves its input in
# fuzz/artifacts/<target>/ and fails the script; replay it with
# `cargo fuzz run --dev --sanitizer none <target> <file>` from fuzz/.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
log() { printf '[fuzz] %s\n' "$*" >&2; }

if ! cargo fuzz --version >/dev/null 2>&1; then
  log "cargo install cargo-fuzz"
  cargo install cargo-fuzz --locked
fi
# Unoptimised builds: 60 % of the CPU time of an optimised build (measured: 12.6 against 21.7
# CPU minutes cold), fewer executions per second, and overflow checks on.
flags=(--dev --sanitizer none)
cargo fuzz build "${flags[@]}"
[ "${1:-build}" = run ] || exit 0

seconds=${2:-20}
targets=$(cargo fuzz list)
[ -n "$targets" ] || { log "cargo fuzz list named no target"; exit 1; }
failed=()
for target in $targets; do
  mkdir -p "corpus/$target"
  log "$target: ${seconds}s from $(find "seeds/$target" -type f | wc -l) seeds"
  if ! cargo fuzz run "${flags[@]}" "$target" "corpus/$target" "seeds/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    2>"corpus/$target.log"; then
    failed+=("$target")
    tail -n 40 "corpus/$target.log" >&2
  fi
  grep -E '^stat::number_of_executed_units|^stat::new_units_added' "corpus/$target.log" |
    sed "s/^/[fuzz] $target /" >&2 || true
done
if [ ${#failed[@]} -gt 0 ]; then
  log "findings in: ${failed[*]} (inputs in fuzz/artifacts/)"
  exit 1
fi
log "no findings"
