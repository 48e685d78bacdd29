// @vitest-environment jsdom
//
// The React hooks in a DOM (jsdom; the socket is the ws package's, since
// jsdom's own WebSocket trips over vitest's two Event classes) against a real
// server: a component that opens the socket, shows live data and closes the
// socket when it unmounts; renders at most once per animation frame; every
// order event reaches the screen.

import { act, cleanup, render, screen } from "@testing-library/react";
import { useEffect } from "react";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import WebSocket from "ws";

import { connect, type TickwireClient, type WebSocketConstructor } from "../src/index.js";
import {
  TickwireProvider,
  useConnection,
  useIntegrity,
  useOrderBook,
  useOrders,
  usePosition,
  useTicker,
  useTickwire,
  useTrades,
} from "../src/react/index.js";
import { ACCOUNTS, killServer, metric, sleep, startServer, until, type Server } from "./server.js";

const WS = WebSocket as unknown as WebSocketConstructor;
const OPTIONS = { WebSocket: WS };
let server: Server;

beforeAll(async () => {
  server = await startServer(["serve", "--seed", "41", "--rate-scale", "20"]);
});
afterEach(() => {
  cleanup();
});
afterAll(async () => {
  await killServer(server);
});

let renders = 0;
let opened: TickwireClient | null = null;

function Book({ symbol }: { symbol: string }) {
  const book = useOrderBook(symbol, 5);
  const ticker = useTicker(symbol);
  const trades = useTrades(symbol, 3);
  const stats = useIntegrity();
  renders++;
  return (
    <div>
      <span data-testid="bid">{book.bestBid?.[0] ?? ""}</span>
      <span data-testid="ask">{book.bestAsk?.[0] ?? ""}</span>
      <span data-testid="levels">{book.bids.length}</span>
      <span data-testid="last">{ticker?.last ?? ""}</span>
      <span data-testid="trades">{trades.length}</span>
      <span data-testid="updates">{stats.bookUpdates}</span>
    </div>
  );
}

function Live({ url }: { url: string }) {
  const client = useTickwire(url, OPTIONS);
  useEffect(() => {
    opened = client;
  }, [client]);
  if (client === null) return <span>connecting</span>;
  return (
    <TickwireProvider client={client}>
      <State />
      <Book symbol="BTC-USD" />
    </TickwireProvider>
  );
}

function State() {
  return <span data-testid="state">{useConnection().state}</span>;
}

describe("React hooks", () => {
  it("open the socket on mount, show live data, and close it on unmount", async () => {
    const view = render(<Live url={server.url} />);
    await until(
      "a rendered book",
      () =>
        (screen.queryByTestId("bid")?.textContent ?? "") !== "" &&
        screen.getByTestId("trades").textContent === "3",
    );
    expect(screen.getByTestId("state").textContent).toBe("open");
    expect(Number(screen.getByTestId("ask").textContent)).toBeGreaterThan(
      Number(screen.getByTestId("bid").textContent),
    );
    expect(screen.getByTestId("levels").textContent).toBe("5");
    expect(await metric(server, "tickwire_connections")).toBe(1);
    const client = opened;
    view.unmount();
    expect(client?.connection.get().state).toBe("closed");
    for (let i = 0; i < 100 && (await metric(server, "tickwire_connections")) !== 0; i++)
      await sleep(20);
    expect(await metric(server, "tickwire_connections")).toBe(0);
  });

  it("render at most once per animation frame however fast the feed is", async () => {
    let frames = 0;
    let counting = true;
    const tick = () => {
      frames++;
      if (counting) requestAnimationFrame(tick);
    };
    render(<Live url={server.url} />);
    await until("a live book", () => (screen.queryByTestId("bid")?.textContent ?? "") !== "");
    const updatesBefore = Number(screen.getByTestId("updates").textContent);
    renders = 0;
    requestAnimationFrame(tick);
    await act(() => sleep(2000));
    counting = false;
    const updates = Number(screen.getByTestId("updates").textContent) - updatesBefore;
    // Four hooks in one component: at most one render per frame between
    // them (plus one for the frame in flight when counting stopped).
    expect(updates).toBeGreaterThan(frames);
    expect(renders).toBeLessThanOrEqual(frames + 1);
    expect(renders).toBeGreaterThan(0);
  });

  it("show every order event, whatever the render rate", async () => {
    const trader = connect(server.url, { WebSocket: WS, token: ACCOUNTS.alice });
    function Orders() {
      const orders = useOrders();
      const position = usePosition("BTC-USD");
      return (
        <div>
          <span data-testid="done">{orders.done.length}</span>
          <span data-testid="fills">{orders.fills.length}</span>
          <span data-testid="position">{position?.position ?? ""}</span>
        </div>
      );
    }
    render(
      <TickwireProvider client={trader}>
        <Orders />
      </TickwireProvider>,
    );
    try {
      await until("alice", () => trader.connection.get().account === "alice");
      const fills: string[] = [];
      trader.on("fill", (f) => fills.push(f.trade_id));
      const orders = Array.from({ length: 40 }, (_, i) =>
        trader.order({
          symbol: "BTC-USD",
          side: i % 2 === 0 ? "buy" : "sell",
          order_type: "market",
          qty: "0.0010",
        }),
      );
      await Promise.all(orders);
      await until(
        "40 finished orders on screen",
        () => screen.getByTestId("done").textContent === "40",
      );
      await until(
        "every fill on screen",
        () =>
          screen.getByTestId("fills").textContent === String(fills.length) && fills.length >= 40,
      );
      const last = trader.orders.get().positions["BTC-USD"]?.position ?? "";
      await until(
        "the position on screen",
        () => screen.getByTestId("position").textContent === last,
      );
    } finally {
      trader.close();
    }
  });
});
