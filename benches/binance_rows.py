#!/usr/bin/env python3
"""Synthetic Binance-layout files for measuring `tickwire import --format
binance` (made-up data, seeded): a spot diff-depth capture of a REST
snapshot of 100 levels and DEPTH_EVENTS depthUpdate events of 1 to 4
levels each (a fifth of them removals), consecutive update ids; and a
spot aggTrades dump of TRADE_ROWS rows (no header, microseconds). Tick
0.01, lot 0.00001.

    python3 benches/binance_rows.py /tmp/BTCUSDT-depth.jsonl /tmp/BTCUSDT-aggTrades-2026-01-01.csv [DEPTH_EVENTS] [TRADE_ROWS]
    time tickwire import --format binance /tmp/BTCUSDT-depth.jsonl \\
        /tmp/BTCUSDT-aggTrades-2026-01-01.csv --out /tmp/import.jsonl.zst
"""

import json
import random
import sys


def level(rng: random.Random, price: float, removal: float) -> list[str]:
    qty = (
        "0.00000000"
        if rng.random() < removal
        else f"{rng.randint(1, 500000) / 100000:.8f}"
    )
    return [f"{price:.8f}", qty]


def main() -> None:
    depth_path, trades_path = sys.argv[1], sys.argv[2]
    events = int(sys.argv[3]) if len(sys.argv) > 3 else 300_000
    trade_rows = int(sys.argv[4]) if len(sys.argv) > 4 else 200_000
    rng = random.Random(1)
    start_ms = 1_767_225_600_000
    with open(depth_path, "w") as f:
        snapshot = {
            "lastUpdateId": 1000,
            "bids": [level(rng, 87000 - 0.01 * (i + 1), 0) for i in range(50)],
            "asks": [level(rng, 87000 + 0.01 * i, 0) for i in range(50)],
        }
        f.write(json.dumps(snapshot, separators=(",", ":")) + "\n")
        update_id, time = 1001, start_ms
        for _ in range(events):
            time += rng.randint(0, 2)
            bids, asks = [], []
            for _ in range(rng.randint(1, 4)):
                offset = rng.randint(1, 50) * 0.01
                if rng.random() < 0.5:
                    bids.append(level(rng, 87000 - offset, 0.2))
                else:
                    asks.append(level(rng, 87000 + offset - 0.01, 0.2))
            n = rng.randint(1, 3)
            event = {
                "e": "depthUpdate",
                "E": time,
                "s": "BTCUSDT",
                "U": update_id,
                "u": update_id + n - 1,
                "b": bids,
                "a": asks,
            }
            update_id += n
            f.write(json.dumps(event, separators=(",", ":")) + "\n")
    with open(trades_path, "w") as f:
        micros, trade_id = start_ms * 1000 + 10, 1
        for i in range(trade_rows):
            micros += rng.randint(100, 2500)
            n = rng.randint(1, 3)
            price = 87000 + rng.randint(-10, 10) * 0.01
            maker = "true" if rng.random() < 0.5 else "false"
            f.write(
                f"{i + 1},{price:.8f},{rng.randint(1, 50000) / 100000:.8f},{trade_id},{trade_id + n - 1},{micros},{maker},true\n"
            )
            trade_id += n


if __name__ == "__main__":
    main()
