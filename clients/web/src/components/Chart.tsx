/**
 * Candles with volume (TradingView's lightweight-charts): history from the
 * `candles_snapshot` with `setData`, then the live bar with `update`, as the
 * library's own examples do. 1s / 1m switch.
 */

import type {
  CandlestickData,
  HistogramData,
  IChartApi,
  ISeriesApi,
  UTCTimestamp,
} from "lightweight-charts";
import { useEffect, useRef, useState } from "react";
import type { CandleBar, CandleInterval } from "tickwire-client";
import { useCandles } from "tickwire-client/react";

const UP = "#22c55e";
const DOWN = "#ef4444";

function time(bar: CandleBar): UTCTimestamp {
  return Math.floor(bar.start / 1e9) as UTCTimestamp;
}

function candle(bar: CandleBar): CandlestickData<UTCTimestamp> {
  return {
    time: time(bar),
    open: Number(bar.open),
    high: Number(bar.high),
    low: Number(bar.low),
    close: Number(bar.close),
  };
}

function volume(bar: CandleBar): HistogramData<UTCTimestamp> {
  const up = Number(bar.close) >= Number(bar.open);
  return { time: time(bar), value: Number(bar.volume), color: up ? `${UP}66` : `${DOWN}66` };
}

interface Series {
  chart: IChartApi;
  candles: ISeriesApi<"Candlestick">;
  volume: ISeriesApi<"Histogram">;
}

/** The charting library, loaded after the page (a chunk of its own). */
type Charts = typeof import("lightweight-charts");

function build(charts: Charts, element: HTMLElement, interval: CandleInterval): Series {
  const { CandlestickSeries, ColorType, CrosshairMode, HistogramSeries, createChart } = charts;
  const chart = createChart(element, {
    autoSize: true,
    layout: {
      background: { type: ColorType.Solid, color: "#0d1117" },
      textColor: "#9aa4b2",
      attributionLogo: true,
    },
    grid: { vertLines: { color: "#1b2230" }, horzLines: { color: "#1b2230" } },
    timeScale: { timeVisible: true, secondsVisible: interval === "1s", borderColor: "#2a3342" },
    rightPriceScale: { borderColor: "#2a3342" },
    crosshair: { mode: CrosshairMode.Normal },
  });
  const candles = chart.addSeries(CandlestickSeries, {
    upColor: UP,
    downColor: DOWN,
    borderVisible: false,
    wickUpColor: UP,
    wickDownColor: DOWN,
  });
  const volumes = chart.addSeries(HistogramSeries, {
    priceFormat: { type: "volume" },
    priceScaleId: "",
  });
  volumes.priceScale().applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
  return { chart, candles, volume: volumes };
}

export function Chart({ symbol }: { symbol: string }) {
  const [interval, setChartInterval] = useState<CandleInterval>("1m");
  const container = useRef<HTMLDivElement>(null);
  const [series, setSeries] = useState<Series | null>(null);
  // What the chart holds: the stream epoch it was loaded from, and the
  // start of its last bar.
  const loaded = useRef<{ epoch: number; last: number } | null>(null);
  const view = useCandles(symbol, interval);

  useEffect(() => {
    const element = container.current;
    if (element === null) return;
    let made: Series | null = null;
    let gone = false;
    // The library is loaded and the chart made after the first paint: it
    // is the heaviest part of the page, and the book and trades come first.
    void import("lightweight-charts").then((charts) => {
      if (gone) return;
      made = build(charts, element, interval);
      loaded.current = null;
      setSeries(made);
    });
    return () => {
      gone = true;
      made?.chart.remove();
      setSeries(null);
    };
  }, [symbol, interval]);

  useEffect(() => {
    if (series === null || view === null || view.status !== "live") return;
    const bars = view.bars;
    const held = loaded.current;
    if (held?.epoch !== view.epoch) {
      series.candles.setData(bars.map(candle));
      series.volume.setData(bars.map(volume));
      series.chart.timeScale().scrollToRealTime();
    } else {
      // Bars since the last frame: the current one changed, new ones opened.
      for (const bar of bars) {
        if (bar.start < held.last) continue;
        series.candles.update(candle(bar));
        series.volume.update(volume(bar));
      }
    }
    loaded.current = { epoch: view.epoch, last: bars.at(-1)?.start ?? 0 };
  }, [view, series]);

  return (
    <div className="chart">
      <div className="chart-tools">
        <h2>{symbol}</h2>
        {(["1s", "1m"] as const).map((i) => (
          <button
            key={i}
            type="button"
            className={i === interval ? "selected" : ""}
            data-testid={`interval-${i}`}
            onClick={() => {
              setChartInterval(i);
            }}
          >
            {i}
          </button>
        ))}
        <span className="chart-bars" data-testid="chart-bars">
          {view?.bars.length ?? 0} bars
        </span>
      </div>
      <div className="chart-canvas" ref={container} data-testid="chart" />
    </div>
  );
}
