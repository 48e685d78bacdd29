// Measures the web UI in headless Chromium against a real server with
// every symbol at --rate-scale 10 (override with RATE_SCALE): time from
// page load to the first rendered book, frame rate and CPU while the feed
// runs, the production bundle's gzipped size, and the tab's JavaScript heap
// over MEASURE_MINUTES (default 10) minutes. Not part of the test command:
//
//   npm run measure --prefix clients/web          # writes target/web/measure.json
//
// Figures are measurements of one run on a shared machine: compare them
// with each other, not with a threshold.

import { test, type CDPSession, type Page } from "@playwright/test";
import { readFileSync, readdirSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

import { killServer, startServer } from "../../ts/test/server";

const HERE = dirname(fileURLToPath(import.meta.url));
const ARTIFACTS = resolve(HERE, "../../../target/web");
const RATE_SCALE = process.env.RATE_SCALE ?? "10";
const MINUTES = Number(process.env.MEASURE_MINUTES ?? "10");

function bundleSizes(): { file: string; bytes: number; gzip: number }[] {
  const dist = resolve(HERE, "../dist");
  const files = ["index.html", ...readdirSync(join(dist, "assets")).map((f) => `assets/${f}`)];
  return files.map((file) => {
    const body = readFileSync(join(dist, file));
    return { file, bytes: body.length, gzip: gzipSync(body, { level: 9 }).length };
  });
}

async function metrics(cdp: CDPSession): Promise<Record<string, number>> {
  const { metrics: list } = await cdp.send("Performance.getMetrics");
  return Object.fromEntries(list.map((m) => [m.name, m.value]));
}

/** CPU seconds (user + system) of every Chromium process, from /proc. */
function chromiumCpuSeconds(): number {
  const ticks = 100; // USER_HZ
  let total = 0;
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (!cmdline.includes("chromium")) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      total += (Number(fields[11]) + Number(fields[12])) / ticks;
    } catch {
      // The process ended between listing and reading.
    }
  }
  return total;
}

/** Frames drawn in `seconds`, counted by requestAnimationFrame in the page. */
async function frames(page: Page, seconds: number): Promise<{ fps: number; longest: number }> {
  return page.evaluate(async (s) => {
    let count = 0;
    let last = performance.now();
    let longest = 0;
    const end = last + s * 1000;
    await new Promise<void>((done) => {
      const tick = (now: number) => {
        count++;
        longest = Math.max(longest, now - last);
        last = now;
        if (now < end) requestAnimationFrame(tick);
        else done();
      };
      requestAnimationFrame(tick);
    });
    return { fps: count / s, longest };
  }, seconds);
}

test("web UI figures", async ({ browser }) => {
  test.setTimeout((MINUTES + 5) * 60_000);
  const server = await startServer(["serve", "--seed", "71", "--rate-scale", RATE_SCALE]);
  const results: Record<string, unknown> = {
    rate_scale: Number(RATE_SCALE),
    bundle: bundleSizes(),
  };
  try {
    // 1. Page load to first rendered book, each in a fresh context (no cache).
    const firstBook: number[] = [];
    for (let i = 0; i < 7; i++) {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(server.http + "/");
      await page.waitForFunction(
        () => performance.getEntriesByName("tickwire:first-book").length > 0,
      );
      firstBook.push(
        await page.evaluate(
          () => performance.getEntriesByName("tickwire:first-book")[0]?.startTime ?? -1,
        ),
      );
      await context.close();
    }
    firstBook.sort((a, b) => a - b);
    results.first_book_ms = { runs: firstBook, median: firstBook[3], max: firstBook[6] };

    // 2. Frame rate and CPU with the feed running.
    const page = await browser.newPage();
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Performance.enable");
    await page.goto(server.http + "/");
    await page.getByTestId("best-bid").waitFor();
    await page.waitForTimeout(3000);
    const before = await metrics(cdp);
    const cpuBefore = chromiumCpuSeconds();
    const wallBefore = Date.now();
    const frame = await frames(page, 20);
    const after = await metrics(cdp);
    const wall = (Date.now() - wallBefore) / 1000;
    const updates = await page.getByTestId("checksums").textContent();
    results.frames = {
      fps: frame.fps,
      longest_frame_ms: frame.longest,
      renderer_main_thread_busy: ((after.TaskDuration ?? 0) - (before.TaskDuration ?? 0)) / wall,
      script_share: ((after.ScriptDuration ?? 0) - (before.ScriptDuration ?? 0)) / wall,
      chromium_cpu_cores: (chromiumCpuSeconds() - cpuBefore) / wall,
      checksums_verified_so_far: Number(updates),
    };

    // 3. The tab's JavaScript heap over time (after a forced GC each time).
    const heap: { minute: number; used_mb: number; dom_nodes: number }[] = [];
    const start = Date.now();
    for (;;) {
      await cdp.send("HeapProfiler.collectGarbage");
      const m = await metrics(cdp);
      heap.push({
        minute: (Date.now() - start) / 60_000,
        used_mb: (m.JSHeapUsedSize ?? 0) / 2 ** 20,
        dom_nodes: m.Nodes ?? 0,
      });
      if (Date.now() - start >= MINUTES * 60_000) break;
      await page.waitForTimeout(Math.min(30_000, MINUTES * 60_000));
    }
    results.heap = heap;
    results.integrity = {
      checksums: Number(await page.getByTestId("checksums").textContent()),
      gaps: Number(await page.getByTestId("gaps").textContent()),
      resyncs: Number(await page.getByTestId("resyncs").textContent()),
      lags: Number(await page.getByTestId("lags").textContent()),
    };
  } finally {
    await killServer(server);
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(resolve(ARTIFACTS, "measure.json"), JSON.stringify(results, null, 2));
    console.log(JSON.stringify(results, null, 2));
  }
});
