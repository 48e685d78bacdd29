#!/usr/bin/env bash
# The soak: `bash benches/soak.sh DURATION` (e.g. 2m, 30m) runs a release
# tickwire under mixed load with churn, traders, a slow client and an order
# audit (benches/soak/main.rs says what and what fails it), sampling its
# memory, descriptors and latency every 5 s. Writes target/soak/soak.csv,
# soak.png and soak.md; exits 1 on a failed check.
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:?usage: bash benches/soak.sh DURATION (e.g. 2m)}"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
cargo build --release --bin tickwire --example soak
target/release/examples/soak "$duration" --tickwire target/release/tickwire --out target/soak
