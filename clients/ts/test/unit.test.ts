// The pure parts, without a server: CRC-32, the local book, decimals,
// backoff, and the streams' integrity rules fed by hand.

import { describe, expect, it } from "vitest";

import {
  BookStream,
  CandlesStream,
  HeartbeatStream,
  OrderBook,
  TradesStream,
  backoffDelay,
  bookChecksum,
  checkPrice,
  checkQty,
  compareDecimal,
  comparePrice,
  crc32,
  formatScaled,
  parseScaled,
  type IntegrityStats,
  type MarketStream,
  type ResyncReason,
} from "../src/index.js";
import type { StreamHost } from "../src/streams.js";

const BTC = {
  symbol: "BTC-USD",
  tick_size: "0.01",
  lot_size: "0.0001",
  price_decimals: 2,
  qty_decimals: 4,
  max_qty: "100.0000",
  band: "0.10",
};

class FakeHost implements StreamHost {
  resyncs: { key: string; reason: ResyncReason }[] = [];
  counts: Partial<Record<keyof IntegrityStats, number>> = {};
  resync(stream: MarketStream, reason: ResyncReason): void {
    this.resyncs.push({ key: stream.key, reason });
  }
  count(name: keyof IntegrityStats, n = 1): void {
    this.counts[name] = (this.counts[name] ?? 0) + n;
  }
}

describe("crc32 and the book checksum", () => {
  it("matches zlib's crc32 on the standard check value", () => {
    expect(crc32("123456789")).toBe(0xcbf43926);
    expect(crc32("")).toBe(0);
  });

  it("gives the protocol document's example checksum", () => {
    const bids = [
      ["64000.50", "1.2500"],
      ["64000.00", "0.5000"],
    ] as const;
    expect(bookChecksum(bids, [["64001.00", "0.7500"]])).toBe(1801057275);
    expect(bookChecksum([], [])).toBe(crc32("|"));
  });

  it("hashes non-ASCII text as UTF-8", () => {
    expect(crc32("é")).toBe(crc32("\u00e9"));
    expect(crc32("é")).not.toBe(crc32("e"));
  });
});

describe("OrderBook", () => {
  it("keeps levels sorted best first, across integer-part lengths", () => {
    const book = new OrderBook();
    book.reset(
      [
        ["9.99", "1"],
        ["10.00", "2"],
      ],
      [
        ["100.00", "1"],
        ["10.01", "3"],
      ],
    );
    expect(book.bidLevels()).toEqual([
      ["10.00", "2"],
      ["9.99", "1"],
    ]);
    expect(book.askLevels()).toEqual([
      ["10.01", "3"],
      ["100.00", "1"],
    ]);
  });

  it("applies totals, removes levels at zero, and ignores removals of absent levels", () => {
    const book = new OrderBook();
    book.reset([["64000.00", "1.0000"]], [["64001.00", "2.0000"]]);
    book.apply(
      [
        ["64000.50", "0.5000"],
        ["64000.00", "0"],
      ],
      [["64002.00", "0"]],
    );
    expect(book.bidLevels()).toEqual([["64000.50", "0.5000"]]);
    expect(book.askLevels()).toEqual([["64001.00", "2.0000"]]);
    expect(book.equals([["64000.50", "0.5000"]], [["64001.00", "2.0000"]])).toBe(true);
    expect(book.equals([["64000.50", "0.5001"]], [["64001.00", "2.0000"]])).toBe(false);
    expect(book.bidLevels(0)).toEqual([]);
  });

  it("orders prices exactly", () => {
    expect(comparePrice("9.99", "10.00")).toBeLessThan(0);
    expect(comparePrice("64000.50", "64000.05")).toBeGreaterThan(0);
    expect(comparePrice("1.5", "1.50")).toBe(0);
    expect(compareDecimal("-1.5", "1")).toBeLessThan(0);
  });
});

describe("decimals", () => {
  it("parses exactly, refusing significant digits beyond the decimals", () => {
    expect(parseScaled("64000.50", 2)).toBe(6400050n);
    expect(parseScaled("64000.500", 2)).toBe(6400050n);
    expect(parseScaled("64000.505", 2)).toBeNull();
    expect(parseScaled("1e5", 2)).toBeNull();
    expect(parseScaled(" 1", 2)).toBeNull();
    expect(formatScaled(6400050n, 2)).toBe("64000.50");
    expect(formatScaled(-5n, 4)).toBe("-0.0005");
  });

  it("checks prices and quantities as the server does", () => {
    expect(checkPrice(BTC, "64000.50")).toBeNull();
    expect(checkPrice(BTC, "64000.005")).toMatch(/more than 2 decimals/);
    expect(checkPrice(BTC, "0")).toMatch(/positive/);
    expect(checkPrice(BTC, "abc")).toMatch(/not a decimal/);
    expect(checkQty(BTC, "0.0001")).toBeNull();
    expect(checkQty(BTC, "0.00001")).toMatch(/more than 4 decimals/);
    expect(checkQty(BTC, "100.0001")).toMatch(/most allowed/);
    const coarse = { ...BTC, tick_size: "0.05" };
    expect(checkPrice(coarse, "64000.02")).toMatch(/not a multiple of the tick size 0.05/);
  });
});

describe("backoff", () => {
  it("grows exponentially up to the cap, with jitter in the upper half", () => {
    expect(backoffDelay(0, {}, () => 0)).toBe(125);
    expect(backoffDelay(0, {}, () => 1)).toBe(250);
    expect(backoffDelay(3, {}, () => 0)).toBe(1000);
    expect(backoffDelay(50, {}, () => 1)).toBe(10_000);
  });
});

const snapshot = (seq: number, bids: [string, string][], asks: [string, string][]) => ({
  type: "book_snapshot" as const,
  symbol: "BTC-USD",
  seq,
  ts: 1,
  bids,
  asks,
  checksum: bookChecksum(bids, asks),
});

describe("BookStream", () => {
  it("applies updates in sequence and verifies each checksum", () => {
    const host = new FakeHost();
    const stream = new BookStream("BTC-USD", host);
    stream.onSnapshot(snapshot(5, [["100.00", "1.0000"]], [["101.00", "1.0000"]]));
    stream.onUpdate({
      type: "book_update",
      symbol: "BTC-USD",
      seq: 6,
      ts: 2,
      bids: [["100.50", "2.0000"]],
      asks: [],
      checksum: bookChecksum(
        [
          ["100.50", "2.0000"],
          ["100.00", "1.0000"],
        ],
        [["101.00", "1.0000"]],
      ),
    });
    expect(stream.get().status).toBe("live");
    expect(stream.get().bids[0]).toEqual(["100.50", "2.0000"]);
    expect(host.counts.checksumsVerified).toBe(1);
    expect(host.resyncs).toEqual([]);
  });

  it("resyncs on a gap, once, and ignores updates until the new snapshot", () => {
    const host = new FakeHost();
    const stream = new BookStream("BTC-USD", host);
    stream.onSnapshot(snapshot(5, [["100.00", "1.0000"]], []));
    const update = {
      type: "book_update" as const,
      symbol: "BTC-USD",
      ts: 2,
      bids: [],
      asks: [],
      checksum: 0,
    };
    stream.onUpdate({ ...update, seq: 7 });
    stream.onUpdate({ ...update, seq: 8 });
    expect(host.resyncs).toEqual([{ key: "book:BTC-USD", reason: "gap" }]);
    expect(host.counts.gaps).toBe(1);
    expect(stream.get().status).toBe("syncing");
    stream.onSnapshot(snapshot(8, [["99.00", "1.0000"]], []));
    expect(stream.get().status).toBe("live");
    expect(stream.get().bids).toEqual([["99.00", "1.0000"]]);
  });

  it("resyncs on a checksum mismatch", () => {
    const host = new FakeHost();
    const stream = new BookStream("BTC-USD", host);
    stream.onSnapshot(snapshot(1, [["100.00", "1.0000"]], []));
    stream.onUpdate({
      type: "book_update",
      symbol: "BTC-USD",
      seq: 2,
      ts: 2,
      bids: [["100.00", "2.0000"]],
      asks: [],
      checksum: 12345,
    });
    expect(host.counts.checksumMismatches).toBe(1);
    expect(host.resyncs).toEqual([{ key: "book:BTC-USD", reason: "checksum" }]);
  });

  it("verifies a resubscribe snapshot against the book kept", () => {
    const host = new FakeHost();
    const stream = new BookStream("BTC-USD", host);
    stream.onSnapshot(snapshot(1, [["100.00", "1.0000"]], []));
    stream.onSnapshot(snapshot(1, [["100.00", "1.0000"]], []));
    expect(host.counts.snapshotsVerified).toBe(1);
    stream.onSnapshot(snapshot(1, [["100.00", "9.0000"]], []));
    expect(host.counts.checksumMismatches).toBe(1);
  });

  it("resyncs when a heartbeat names a later seq than the last applied", () => {
    const host = new FakeHost();
    const book = new BookStream("BTC-USD", host);
    const trades = new TradesStream("BTC-USD", host);
    const beat = new HeartbeatStream("BTC-USD", host, () => [book, trades]);
    book.onSnapshot(snapshot(10, [["100.00", "1.0000"]], []));
    beat.onHeartbeat({ seq: 1, ts: 1, last_seq: { book: 10, trades: 0, ticker: 0 } });
    expect(host.resyncs).toEqual([]);
    beat.onHeartbeat({ seq: 2, ts: 2, last_seq: { book: 11, trades: 0, ticker: 0 } });
    expect(host.resyncs).toEqual([{ key: "book:BTC-USD", reason: "heartbeat" }]);
  });
});

describe("TradesStream and CandlesStream", () => {
  it("counts trades missed from seq gaps and keeps the newest first", () => {
    const host = new FakeHost();
    const trades = new TradesStream("BTC-USD", host, 2);
    const trade = (seq: number) => ({
      type: "trade" as const,
      symbol: "BTC-USD",
      seq,
      ts: seq,
      trade_id: `BTC-USD-${seq}`,
      price: "1.00",
      qty: "1",
      side: "buy" as const,
    });
    trades.onTrade(trade(3));
    trades.onTrade(trade(4));
    trades.onTrade(trade(7));
    expect(host.counts.tradesMissed).toBe(2);
    expect(trades.get().trades.map((t) => t.seq)).toEqual([7, 4]);
  });

  it("updates the current bar, appends new ones, and resyncs on a gap", () => {
    const host = new FakeHost();
    const candles = new CandlesStream("BTC-USD", "1s", host);
    const bar = { start: 1000, open: "1", high: "1", low: "1", close: "1", volume: "1" };
    candles.onSnapshot({
      type: "candles_snapshot",
      symbol: "BTC-USD",
      seq: 4,
      ts: 1,
      interval: "1s",
      candles: [bar],
    });
    const candle = (seq: number, start: number, close: string) => ({
      ...bar,
      type: "candle" as const,
      symbol: "BTC-USD",
      interval: "1s" as const,
      seq,
      ts: 1,
      start,
      close,
    });
    candles.onCandle(candle(5, 1000, "2"));
    candles.onCandle(candle(6, 2000, "3"));
    expect(candles.get().bars.map((b) => [b.start, b.close])).toEqual([
      [1000, "2"],
      [2000, "3"],
    ]);
    candles.onCandle(candle(8, 2000, "4"));
    expect(host.resyncs).toEqual([{ key: "candles:BTC-USD:1s", reason: "gap" }]);
  });
});
