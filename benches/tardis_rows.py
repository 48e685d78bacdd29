#!/usr/bin/env python3
"""Synthetic Tardis-layout CSV for measuring `tickwire import` (made-up
data, seeded): a 100-level snapshot, then BOOK_ROWS incremental rows of
1 to 4 levels per message (a fifth of them removals), and TRADE_ROWS
trades, on a 0.5 tick and a 0.001 lot.

    python3 benches/tardis_rows.py /tmp/book.csv /tmp/trades.csv [BOOK_ROWS] [TRADE_ROWS]
    time tickwire import --format tardis /tmp/book.csv /tmp/trades.csv \\
        --symbol-map BTCUSDT=BTC-USDT --out /tmp/import.jsonl.zst
"""

import random
import sys


def main() -> None:
    book_path, trades_path = sys.argv[1], sys.argv[2]
    book_rows = int(sys.argv[3]) if len(sys.argv) > 3 else 1_000_000
    trade_rows = int(sys.argv[4]) if len(sys.argv) > 4 else 200_000
    rng = random.Random(1)
    start = 1_767_225_600_000_000
    with open(book_path, "w") as f:
        f.write(
            "exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount\n"
        )
        for i in range(50):
            f.writelines(
                f"x,BTCUSDT,{start},{start + 1},true,{side},{price:.1f},{rng.randint(1, 5000) / 1000:.3f}\n"
                for side, price in (
                    ("bid", 64000 - 0.5 * (i + 1)),
                    ("ask", 64000 + 0.5 * i),
                )
            )
        rows, local = 0, start + 1
        while rows < book_rows:
            local += rng.randint(50, 500)
            for _ in range(rng.randint(1, 4)):
                side = rng.choice(["bid", "ask"])
                offset = rng.randint(1, 50) * 0.5
                price = 64000 - offset if side == "bid" else 64000 + offset - 0.5
                amount = (
                    "0" if rng.random() < 0.2 else f"{rng.randint(1, 5000) / 1000:.3f}"
                )
                f.write(
                    f"x,BTCUSDT,{local},{local},false,{side},{price:.1f},{amount}\n"
                )
                rows += 1
    with open(trades_path, "w") as f:
        f.write("exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n")
        local = start + 10
        for i in range(trade_rows):
            local += rng.randint(100, 2500)
            side = rng.choice(["buy", "sell"])
            price = 64000 + rng.randint(-10, 10) * 0.5
            f.write(
                f"x,BTCUSDT,{local},{local},{i},{side},{price:.1f},{rng.randint(1, 500) / 1000:.3f}\n"
            )


if __name__ == "__main__":
    main()
