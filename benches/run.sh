#!/usr/bin/env bash
# The end-to-end benchmark: tickwire against a Node `ws` fan-out and a naive
# Rust fan-out, in four scenarios (README, "Benchmarks"), servers pinned to
# core 0 and the load generator to core 1. Writes target/bench/e2e.md, the
# plot target/bench/e2e.png and the raw target/bench/e2e.json. About 10 min.
set -euo pipefail
cd "$(dirname "$0")/.."

bash .ci/deps
# 20,000 connections need as many descriptors in the server and the
# generator: take the hard limit (the run fits what it gets).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
cargo build --release --bin tickwire --example naive-peer
cargo bench --bench e2e "$@"
