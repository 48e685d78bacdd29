// The web UI in a real browser (Debian's Chromium, headless) against real
// tickwire servers: it loads and fills, its book agrees with a protocol
// client's, it trades, it survives a server restart, it shows a replay and
// a scripted halt.

import { expect, test, type Page } from "@playwright/test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";

import { connect, type TickwireClient, type WebSocketConstructor } from "../../ts/src/index";
import {
  ACCOUNTS,
  SAMPLE_RECORDING,
  killServer,
  startServer,
  stopServer,
  until,
  type Server,
} from "../../ts/test/server";

const ARTIFACTS = resolve(dirname(fileURLToPath(import.meta.url)), "../../../target/web");
const WS = WebSocket as unknown as WebSocketConstructor;

/** Console errors and uncaught exceptions of the page. */
function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(`uncaught: ${error.message}`));
  return errors;
}

/** The ladder's seq and best prices, read in one go (one render). */
async function ladderTop(
  page: Page,
): Promise<{ symbol: string; seq: number; bid: string; ask: string; status: string }> {
  return page.evaluate(() => {
    const ladder = document.querySelector('[data-testid="ladder"]');
    return {
      symbol: ladder?.getAttribute("data-symbol") ?? "",
      seq: Number(ladder?.getAttribute("data-seq") ?? 0),
      status: ladder?.getAttribute("data-status") ?? "",
      bid: document.querySelector('[data-testid="best-bid"]')?.textContent ?? "",
      ask: document.querySelector('[data-testid="best-ask"]')?.textContent ?? "",
    };
  });
}

/**
 * A protocol client beside the page, remembering the best prices at every
 * `seq` of the book, so the page's book can be compared at the very `seq`
 * it shows, whatever is in flight.
 */
function protocolWatcher(url: string, symbol: string) {
  const client: TickwireClient = connect(url, { WebSocket: WS });
  const book = client.book(symbol);
  const history = new Map<number, string>();
  book.subscribe(() => {
    const view = book.book;
    history.set(book.seq, `${view.bestBid()?.[0] ?? ""}/${view.bestAsk()?.[0] ?? ""}`);
  });
  return { client, book, history };
}

async function sameAsProtocol(
  page: Page,
  watcher: ReturnType<typeof protocolWatcher>,
): Promise<void> {
  // A market just picked starts "syncing" until its snapshot arrives, and
  // for a render or two the ladder may still be the market left: wait for
  // this symbol's book to be live before comparing. A resync after that
  // would be a gap, which the "gaps" counter checks.
  const ladder = page.getByTestId("ladder");
  await expect(ladder).toHaveAttribute("data-symbol", watcher.book.symbol);
  await expect(ladder).toHaveAttribute("data-status", "live");
  for (let i = 0; i < 5; i++) {
    const top = await ladderTop(page);
    expect(top.symbol).toBe(watcher.book.symbol);
    expect(top.status).toBe("live");
    await until("the protocol client to reach the page's seq", () => watcher.book.seq >= top.seq);
    const seen = watcher.history.get(top.seq);
    if (seen === undefined) continue; // the protocol client resynced past it
    expect(`${top.bid}/${top.ask}`).toBe(seen);
    return;
  }
  throw new Error("never caught the page and the protocol client at one seq");
}

test.describe("the web UI", () => {
  let server: Server;

  test.beforeAll(async () => {
    server = await startServer(["serve", "--seed", "51", "--rate-scale", "5"]);
  });
  test.afterAll(async () => {
    await killServer(server);
  });

  test("loads, fills chart, ladder and tape, and matches a protocol client's book", async ({
    page,
  }) => {
    const errors = watchErrors(page);
    const watcher = protocolWatcher(server.url, "BTC-USD");
    try {
      await page.goto(server.http + "/");
      await expect(page.getByTestId("conn-state")).toHaveText("open");
      await expect(page.getByTestId("best-bid")).toHaveText(/^\d+\.\d{2}$/);
      await expect(page.getByTestId("best-ask")).toHaveText(/^\d+\.\d{2}$/);
      await expect(page.getByTestId("last-price")).toHaveText(/^\d+\.\d{2}$/);
      await expect(page.getByTestId("trade").first()).toBeVisible();
      await expect(page.getByTestId("chart").locator("canvas").first()).toBeVisible();
      await expect(page.getByTestId("chart-bars")).not.toHaveText("0 bars");
      // Both sides from one render: read one at a time, the book can move
      // between the reads and an old bid meet a new ask.
      const first = await ladderTop(page);
      expect(Number(first.ask)).toBeGreaterThan(Number(first.bid));
      await sameAsProtocol(page, watcher);
      await expect(page.getByTestId("checksums")).not.toHaveText("0");
      await expect(page.getByTestId("gaps")).toHaveText("0");
      await page.getByTestId("interval-1s").click();
      await expect(page.getByTestId("chart-bars")).not.toHaveText("0 bars");
      await page.getByTestId("market-ETH-USD").click();
      await expect(page.getByTestId("ladder")).toContainText("seq");
      await expect(page).toHaveURL(/symbol=ETH-USD/);
      await page.getByTestId("market-BTC-USD").click();
      await sameAsProtocol(page, watcher);
      await expect(page.getByTestId("gaps")).toHaveText("0");
      const timing = await page.evaluate(
        () => performance.getEntriesByName("tickwire:first-book")[0]?.startTime ?? -1,
      );
      expect(timing).toBeGreaterThan(0);
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: resolve(ARTIFACTS, "screenshot.png") });
      expect(errors).toEqual([]);
    } finally {
      watcher.client.close();
    }
  });

  test("places an order through the ticket, lists it, and cancels it", async ({ page }) => {
    const errors = watchErrors(page);
    await page.goto(`${server.http}/#token=${ACCOUNTS.alice}`);
    await expect(page.getByTestId("account-name")).toHaveText("alice");
    await expect(page.getByTestId("best-bid")).toHaveText(/\d/);
    // A price from the ladder, then a few ticks lower so it rests.
    await page.getByTestId("best-bid").click();
    const bid = await page.getByTestId("ticket-price").inputValue();
    expect(bid).toMatch(/^\d+\.\d{2}$/);
    const price = (Number(bid) - 25).toFixed(2);
    await page.getByTestId("ticket-price").fill(price);
    await page.getByTestId("ticket-qty").fill("0.0150");
    await page.getByTestId("submit-order").click();
    await expect(page.getByTestId("ticket-outcome")).toHaveText(/^accepted BTC-USD:\d+$/);
    const row = page.getByTestId("open-order");
    await expect(row).toHaveCount(1);
    await expect(row).toContainText(price);
    await expect(row).toContainText("0.0150");
    // A refusal shows its code, and nothing is listed for it.
    await page.getByTestId("ticket-price").fill((Number(bid) * 2).toFixed(2));
    await page.getByTestId("submit-order").click();
    await expect(page.getByTestId("ticket-outcome")).toHaveText(/^price_out_of_band: /);
    await expect(row).toHaveCount(1);
    // Checked before sending: an off-tick price cannot be submitted.
    await page.getByTestId("ticket-price").fill("64000.005");
    await expect(page.getByTestId("submit-order")).toBeDisabled();
    await expect(page.getByTestId("ticket-note")).toContainText("more than 2 decimals");
    await row.getByTestId("cancel-order").click();
    await expect(row).toHaveCount(0);
    expect(errors).toEqual([]);
  });

  test("reconnects to a killed and restarted server and resyncs the book", async ({ page }) => {
    const errors = watchErrors(page);
    await page.goto(server.http + "/");
    await expect(page.getByTestId("best-bid")).toHaveText(/\d/);
    await killServer(server);
    await expect(page.getByTestId("conn-state")).toHaveText("reconnecting");
    await expect(page.getByTestId("submit-order")).toBeDisabled();
    server = await startServer(["serve", "--seed", "52", "--rate-scale", "5"], server.port);
    await expect(page.getByTestId("conn-state")).toHaveText("open", { timeout: 20_000 });
    await expect(page.getByTestId("reconnects")).toHaveText("1");
    const watcher = protocolWatcher(server.url, "BTC-USD");
    try {
      await sameAsProtocol(page, watcher);
    } finally {
      watcher.client.close();
    }
    // The browser itself logs the refused connection attempts; nothing else.
    expect(errors.filter((e) => !/WebSocket connection to .* failed/.test(e))).toEqual([]);
  });
});

test("shows a REPLAY badge with the speed when the server replays", async ({ page }) => {
  const replay = await startServer(["replay", SAMPLE_RECORDING, "--speed", "10", "--loop"]);
  try {
    const errors = watchErrors(page);
    await page.goto(replay.http + "/");
    await expect(page.getByTestId("replay-badge")).toContainText("REPLAY ×10");
    await expect(page.getByTestId("best-bid")).toHaveText(/\d/);
    expect(errors).toEqual([]);
  } finally {
    await stopServer(replay);
  }
});

test("shows a HALTED badge while a scripted halt lasts", async ({ page }) => {
  const dir = mkdtempSync(join(tmpdir(), "tickwire-ui-"));
  const scenario = join(dir, "halt.toml");
  writeFileSync(
    scenario,
    ["[[step]]", 'at = "3s"', 'symbol = "*"', 'kind = "halt"', 'for = "3s"', ""].join("\n"),
  );
  const halting = await startServer(["serve", "--seed", "53", "--scenario", scenario]);
  try {
    const errors = watchErrors(page);
    await page.goto(halting.http + "/");
    await expect(page.getByTestId("best-bid")).toHaveText(/\d/);
    await expect(page.getByTestId("halted-badge")).toBeVisible({ timeout: 10_000 });
    await expect(page.getByTestId("halted-badge")).toBeHidden({ timeout: 10_000 });
    expect(errors).toEqual([]);
  } finally {
    await killServer(halting);
    rmSync(dir, { recursive: true, force: true });
  }
});
