#!/usr/bin/env bash
# The soak: `bash benches/soak.sh DURATION` (e.g. 2m, 30m) runs a
# tickwire under mixed load with churn, traders, a slow client and an order
# audit (benches/soak/main.rs says what and what fails it), sampling its
# memory, descriptors and latency every 5 s. Writes target/soak/soak.csv,
# soak.png and soak.md; exits 1 on a failed check.
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:?usage: bash benches/soak.sh DURATION (e.g. 2m)}"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
# The server under test is the release build, as users run it, unless
# TICKWIRE_BIN names another (CI passes the suite profile's, which it has
# already built). The soak's own driver (load, audit, plot) is built with
# the test suite's profile (Cargo.toml), whose dependencies CI has already
# built: in release it would compile the dev-dependencies again (4 minutes
# of CI).
if [ -z "${TICKWIRE_BIN:-}" ]; then
    cargo build --release --bin tickwire
    TICKWIRE_BIN=target/release/tickwire
fi
cargo build --profile suite --example soak
target/suite/examples/soak "$duration" --tickwire "$TICKWIRE_BIN" --out target/soak
