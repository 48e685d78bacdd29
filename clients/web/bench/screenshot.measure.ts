// The README's picture of the UI (docs/web-ui.png): a server at twice the
// default rates, a minute of 1s candles, a few orders and fills of alice's.
//
//   npx playwright test -c playwright.measure.config.ts screenshot --prefix clients/web

import { test } from "@playwright/test";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";

import { connect, type WebSocketConstructor } from "../../ts/src/index";
import { ACCOUNTS, killServer, startServer, until } from "../../ts/test/server";

const PICTURE = resolve(dirname(fileURLToPath(import.meta.url)), "../../../docs/web-ui.png");

test("the README screenshot", async ({ page }) => {
  test.setTimeout(180_000);
  const server = await startServer(["serve", "--seed", "42", "--rate-scale", "2"]);
  const trader = connect(server.url, {
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    token: ACCOUNTS.alice,
  });
  try {
    await page.goto(`${server.http}/#token=${ACCOUNTS.alice}`);
    await page.getByTestId("account-name").waitFor();
    await page.getByTestId("interval-1s").click();
    await page.waitForTimeout(60_000);
    await until("alice", () => trader.connection.get().account === "alice");
    await trader.order({ symbol: "BTC-USD", side: "buy", order_type: "market", qty: "0.2500" });
    await trader.order({ symbol: "BTC-USD", side: "sell", order_type: "market", qty: "0.1000" });
    const book = trader.book("BTC-USD");
    await until("the book", () => book.get().bids.length > 0 && book.get().asks.length > 0);
    const bid = Number(book.get().bids[0]?.[0]);
    const ask = Number(book.get().asks[0]?.[0]);
    const limit = { symbol: "BTC-USD", order_type: "limit" } as const;
    await trader.order({ ...limit, side: "buy", qty: "0.5000", price: (bid - 0.05).toFixed(2) });
    await trader.order({ ...limit, side: "sell", qty: "0.3000", price: (ask + 0.08).toFixed(2) });
    await trader.order({ symbol: "ETH-USD", side: "buy", order_type: "market", qty: "2.000" });
    await page.getByTestId("best-bid").click();
    await page.getByTestId("ticket-qty").fill("0.0500");
    await page.waitForTimeout(3000);
    await page.screenshot({ path: PICTURE });
  } finally {
    trader.close();
    await killServer(server);
  }
});
