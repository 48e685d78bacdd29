/** BTC-USD's touch for the trading tests, and prices a number of ticks away. */

import { formatScaled, parseScaled, type TickwireClient } from "../src/index.js";
import { until } from "./server.js";

/** The best bid and ask of BTC-USD, from the verified book. */
export async function touch(c: TickwireClient): Promise<{ bid: string; ask: string }> {
  const book = c.book("BTC-USD");
  await until(
    "the book",
    () => book.get().status === "live" && book.get().bids.length > 0 && book.get().asks.length > 0,
  );
  const view = book.get();
  c.release(book);
  return { bid: view.bids[0]?.[0] ?? "", ask: view.asks[0]?.[0] ?? "" };
}

/** `price` moved by `n` ticks of 0.01. */
export function ticks(price: string, n: number): string {
  return formatScaled((parseScaled(price, 2) ?? 0n) + BigInt(n), 2);
}
