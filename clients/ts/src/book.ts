/**
 * A local copy of one symbol's order book, kept from `book_snapshot` and
 * `book_update` levels. Pure data: no socket, no sequence checks (those live
 * in `streams.ts`); levels keep the server's wire strings exactly, so the
 * checksum is computed over the same bytes the server used.
 */

import { bookChecksum } from "./checksum.js";
import { compareDecimal } from "./decimal.js";
import type { Level } from "./protocol.js";

/**
 * Orders two prices by value. The server writes every price of an
 * instrument with the same number of decimals, so comparing the strings
 * (shorter integer part first) is exact and cheap; other shapes fall back to
 * the exact decimal comparison.
 */
export function comparePrice(a: string, b: string): number {
  const pa = a.indexOf(".");
  const pb = b.indexOf(".");
  if (a.length - pa === b.length - pb && a[0] !== "-" && b[0] !== "-") {
    if (pa !== pb) return pa - pb;
    return a < b ? -1 : a > b ? 1 : 0;
  }
  return compareDecimal(a, b);
}

/** One side: prices sorted best first, and each price's quantity. */
class BookSide {
  readonly prices: string[] = [];
  readonly qty = new Map<string, string>();

  /** `descending`: bids (best = highest) are kept highest first. */
  constructor(private readonly descending: boolean) {}

  clear(): void {
    this.prices.length = 0;
    this.qty.clear();
  }

  /** Where `price` is, or would be inserted, in best-first order. */
  private index(price: string): number {
    let lo = 0;
    let hi = this.prices.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = comparePrice(this.prices[mid] as string, price);
      if (this.descending ? c > 0 : c < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  set(price: string, qty: string): void {
    const removing = isZero(qty);
    if (this.qty.has(price)) {
      if (removing) {
        this.qty.delete(price);
        this.prices.splice(this.index(price), 1);
      } else {
        this.qty.set(price, qty);
      }
    } else if (!removing) {
      this.prices.splice(this.index(price), 0, price);
      this.qty.set(price, qty);
    }
  }

  levels(depth: number): Level[] {
    const n = Math.min(depth, this.prices.length);
    const out: Level[] = new Array<Level>(n);
    for (let i = 0; i < n; i++) {
      const price = this.prices[i] as string;
      out[i] = [price, this.qty.get(price) as string];
    }
    return out;
  }
}

function isZero(qty: string): boolean {
  return qty === "0" || /^0*\.?0*$/.test(qty);
}

export class OrderBook {
  private readonly bids = new BookSide(true);
  private readonly asks = new BookSide(false);

  /** Replaces the whole book (a snapshot's levels, best first). */
  reset(bids: readonly Level[], asks: readonly Level[]): void {
    this.bids.clear();
    this.asks.clear();
    this.apply(bids, asks);
  }

  /** Applies an update: each level's new total; `"0"` removes the level. */
  apply(bids: readonly Level[], asks: readonly Level[]): void {
    for (const [price, qty] of bids) this.bids.set(price, qty);
    for (const [price, qty] of asks) this.asks.set(price, qty);
  }

  /** The best `depth` bids, highest first (all of them by default). */
  bidLevels(depth = Infinity): Level[] {
    return this.bids.levels(depth);
  }

  /** The best `depth` asks, lowest first (all of them by default). */
  askLevels(depth = Infinity): Level[] {
    return this.asks.levels(depth);
  }

  get bidCount(): number {
    return this.bids.prices.length;
  }

  get askCount(): number {
    return this.asks.prices.length;
  }

  bestBid(): Level | undefined {
    return this.bids.levels(1)[0];
  }

  bestAsk(): Level | undefined {
    return this.asks.levels(1)[0];
  }

  /** The protocol's CRC-32 over the top 10 levels of each side. */
  checksum(): number {
    return bookChecksum(this.bids.levels(10), this.asks.levels(10));
  }

  /** Whether this book holds exactly these levels (a snapshot's). */
  equals(bids: readonly Level[], asks: readonly Level[]): boolean {
    return sameLevels(this.bids, bids) && sameLevels(this.asks, asks);
  }
}

function sameLevels(side: BookSide, levels: readonly Level[]): boolean {
  if (side.prices.length !== levels.length) return false;
  for (let i = 0; i < levels.length; i++) {
    const [price, qty] = levels[i] as Level;
    if (side.prices[i] !== price || side.qty.get(price) !== qty) return false;
  }
  return true;
}
