/**
 * React hooks over tickwire-client, on `useSyncExternalStore`: the client's
 * stores live outside React, and each hook re-renders its component at most
 * once per animation frame with a value taken in that frame.
 *
 * ```tsx
 * function App() {
 *   const client = useTickwire("ws://127.0.0.1:8080/ws");   // closed on unmount
 *   return client && <TickwireProvider client={client}><Book symbol="BTC-USD" /></TickwireProvider>;
 * }
 * function Book({ symbol }: { symbol: string }) {
 *   const book = useOrderBook(symbol, 10);
 *   return <div>{book.bids[0]?.[0]} / {book.asks[0]?.[0]}</div>;
 * }
 * ```
 */

import {
  createContext,
  createElement,
  useContext,
  useMemo,
  useSyncExternalStore,
  type ReactNode,
} from "react";

import {
  connect,
  type ClientOptions,
  type ConnectionInfo,
  type ServerInfo,
  type TickwireClient,
} from "../client.js";
import type { IntegrityStats } from "../integrity.js";
import { Value } from "../observable.js";
import type { OrdersView } from "../orders.js";
import type {
  BookViewOptions,
  CandleInterval,
  Level,
  Position,
  Ticker,
  Trade,
} from "../protocol.js";
import type { BookView, CandlesView, MarketStream, StreamStatus, TradesView } from "../streams.js";
import { FrameView } from "./frame.js";

export { FrameView, scheduleFrame } from "./frame.js";

const ClientContext = createContext<TickwireClient | null>(null);

/** Makes `client` the one the hooks below use when not given one. */
export function TickwireProvider(props: { client: TickwireClient; children?: ReactNode }) {
  return createElement(ClientContext.Provider, { value: props.client }, props.children);
}

/**
 * A client that exists while something listens: made when React subscribes
 * (the component mounts), closed when it unsubscribes (it unmounts).
 */
function clientHolder(
  url: string,
  options: ClientOptions,
): FrameView<TickwireClient | null, TickwireClient | null> {
  return new FrameView(
    () => {
      const client = connect(url, options);
      const held = new Value<TickwireClient | null>(client);
      return {
        source: held,
        close: () => {
          client.close();
          held.set(null);
        },
      };
    },
    (client) => client,
    null,
  );
}

/**
 * Opens a client to `url` when the component mounts and closes it (and its
 * socket) when it unmounts or `url` or the token changes. `null` until the
 * client exists. The other options are read when the client is made.
 */
export function useTickwire(url: string, options: ClientOptions = {}): TickwireClient | null {
  const { token, cancelOnDisconnect } = options;
  // The client is remade for a new address or account only, not for a new
  // options object on each render.
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const holder = useMemo(() => clientHolder(url, options), [url, token, cancelOnDisconnect]);
  return useSyncExternalStore(holder.subscribe, holder.get, holder.get);
}

/** The client given, else the provider's; throws if there is neither. */
export function useClient(client?: TickwireClient | null): TickwireClient {
  const fromContext = useContext(ClientContext);
  const chosen = client ?? fromContext;
  if (chosen === null) {
    throw new Error("no tickwire client: wrap the component in <TickwireProvider> or pass one");
  }
  return chosen;
}

function useView<S, T>(view: FrameView<S, T>): T {
  return useSyncExternalStore(view.subscribe, view.get, view.get);
}

function identity<T>(value: T): T {
  return value;
}

/** Connection state: `connecting`, `open`, `reconnecting`, `closed`, and why. */
export function useConnection(client?: TickwireClient | null): ConnectionInfo {
  const c = useClient(client);
  return useView(useMemo(() => FrameView.of(c.connection, identity), [c]));
}

/** The server's mode (live or replay) and instruments. */
export function useServerInfo(client?: TickwireClient | null): ServerInfo | null {
  const c = useClient(client);
  return useView(useMemo(() => FrameView.of(c.server, identity), [c]));
}

/** Gaps, checksums verified, resyncs, lags, reconnects. */
export function useIntegrity(client?: TickwireClient | null): IntegrityStats {
  const c = useClient(client);
  return useView(useMemo(() => FrameView.of(c.stats, identity), [c]));
}

/**
 * A view of a market stream held while the component is mounted: acquired
 * (subscribed) when React subscribes, released when it unsubscribes.
 */
function streamView<V, T>(
  client: TickwireClient,
  acquire: (client: TickwireClient) => MarketStream,
  select: (state: V) => T,
  initial: T,
): FrameView<V, T> {
  return new FrameView(
    () => {
      const stream = acquire(client);
      return {
        source: stream as unknown as MarketStream<V>,
        close: () => {
          client.release(stream);
        },
      };
    },
    select,
    initial,
  );
}

export interface OrderBookView {
  symbol: string;
  status: StreamStatus | "idle";
  seq: number;
  ts: number;
  /** The best `depth` bids, best first. */
  bids: Level[];
  /** The best `depth` asks, best first. */
  asks: Level[];
  bestBid: Level | null;
  bestAsk: Level | null;
  /** Best ask minus best bid, as a number (display only). */
  spread: number | null;
  mid: number | null;
}

/**
 * The top `depth` levels of `symbol`'s verified book. `stream` asks the
 * server for a view of the book instead of all of it (v1.1: e.g.
 * `{ depth: 25, interval: "100ms" }` for a screen that shows 25 levels and
 * repaints at most ten times a second).
 */
export function useOrderBook(
  symbol: string,
  depth = 10,
  client?: TickwireClient | null,
  stream: BookViewOptions = {},
): OrderBookView {
  const c = useClient(client);
  const { depth: serverDepth, interval } = stream;
  const view = useMemo(
    () =>
      streamView(
        c,
        (cl) =>
          cl.book(symbol, {
            ...(serverDepth === undefined ? {} : { depth: serverDepth }),
            ...(interval === undefined ? {} : { interval }),
          }),
        (v: BookView) => bookView(v, depth),
        emptyBook(symbol),
      ),
    [c, symbol, depth, serverDepth, interval],
  );
  return useView(view);
}

function emptyBook(symbol: string): OrderBookView {
  return {
    symbol,
    status: "idle",
    seq: 0,
    ts: 0,
    bids: [],
    asks: [],
    bestBid: null,
    bestAsk: null,
    spread: null,
    mid: null,
  };
}

function bookView(v: BookView, depth: number): OrderBookView {
  const bestBid = v.bids[0] ?? null;
  const bestAsk = v.asks[0] ?? null;
  const bid = bestBid === null ? null : Number(bestBid[0]);
  const ask = bestAsk === null ? null : Number(bestAsk[0]);
  return {
    symbol: v.symbol,
    status: v.status,
    seq: v.seq,
    ts: v.ts,
    bids: v.bids.slice(0, depth),
    asks: v.asks.slice(0, depth),
    bestBid,
    bestAsk,
    spread: bid !== null && ask !== null ? ask - bid : null,
    mid: bid !== null && ask !== null ? (ask + bid) / 2 : null,
  };
}

const NO_TRADES: Trade[] = [];

/** The last `n` public trades of `symbol`, newest first. */
export function useTrades(symbol: string, n = 50, client?: TickwireClient | null): Trade[] {
  const c = useClient(client);
  const view = useMemo(
    () =>
      streamView(
        c,
        (cl) => cl.trades(symbol),
        (v: TradesView) => v.trades.slice(0, n),
        NO_TRADES,
      ),
    [c, symbol, n],
  );
  return useView(view);
}

/** The newest ticker of `symbol` (null before the first). */
export function useTicker(symbol: string, client?: TickwireClient | null): Ticker | null {
  const c = useClient(client);
  const view = useMemo(
    () => streamView(c, (cl) => cl.ticker(symbol), identity<Ticker | null>, null),
    [c, symbol],
  );
  return useView(view);
}

/**
 * v1.1: whether `symbol`'s market is halted (the `status` messages of its
 * ticker stream); orders on it are refused with `market_halted` meanwhile.
 */
export function useMarketHalted(symbol: string, client?: TickwireClient | null): boolean {
  const c = useClient(client);
  const view = useMemo(
    () =>
      new FrameView<boolean, boolean>(
        () => {
          const stream = c.ticker(symbol);
          return {
            source: { get: () => stream.halted, subscribe: (l) => stream.subscribe(l) },
            close: () => {
              c.release(stream);
            },
          };
        },
        identity<boolean>,
        false,
      ),
    [c, symbol],
  );
  return useView(view);
}

/** Candles of `symbol` at `interval`: history from the snapshot, then live. */
export function useCandles(
  symbol: string,
  interval: CandleInterval = "1m",
  client?: TickwireClient | null,
): CandlesView | null {
  const c = useClient(client);
  const view = useMemo(
    () => streamView(c, (cl) => cl.candles(symbol, interval), identity<CandlesView | null>, null),
    [c, symbol, interval],
  );
  return useView(view);
}

/** Open orders, every fill and finished order of the session, positions. */
export function useOrders(client?: TickwireClient | null): OrdersView {
  const c = useClient(client);
  return useView(useMemo(() => FrameView.of(c.orders, identity), [c]));
}

/** The account's position in `symbol` (null before any). */
export function usePosition(symbol: string, client?: TickwireClient | null): Position | null {
  const c = useClient(client);
  const view = useMemo(
    () => FrameView.of(c.orders, (v: OrdersView) => v.positions[symbol] ?? null),
    [c, symbol],
  );
  return useView(view);
}
