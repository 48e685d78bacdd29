/**
 * Candles with volume (TradingView's lightweight-charts): history from the
 * `candles_snapshot` with `setData`, then the live bar with `update`, as the
 * library's own examples do. 1s / 1m switch.
 */

import {
  CandlestickSeries,
  ColorType,
  CrosshairMode,
  HistogramSeries,
  createChart,
  type CandlestickData,
  type HistogramData,
  type IChartApi,
  type ISeriesApi,
  type UTCTimestamp,
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

export function Chart({ symbol }: { symbol: string }) {
  const [interval, setChartInterval] = useState<CandleInterval>("1m");
  const container = useRef<HTMLDivElement>(null);
  const series = useRef<Series | null>(null);
  // What the chart holds: the stream epoch it was loaded from, and the
  // start of its last bar.
  const loaded = useRef<{ epoch: number; last: number } | null>(null);
  const view = useCandles(symbol, interval);

  useEffect(() => {
    const element = container.current;
    if (element === null) return;
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
    series.current = { chart, candles, volume: volumes };
    loaded.current = null;
    return () => {
      chart.remove();
      series.current = null;
    };
  }, [symbol, interval]);

  useEffect(() => {
    const s = series.current;
    if (s === null || view === null || view.status !== "live") return;
    const bars = view.bars;
    const held = loaded.current;
    if (held?.epoch !== view.epoch) {
      s.candles.setData(bars.map(candle));
      s.volume.setData(bars.map(volume));
      s.chart.timeScale().scrollToRealTime();
    } else {
      // Bars since the last frame: the current one changed, new ones opened.
      for (const bar of bars) {
        if (bar.start < held.last) continue;
        s.candles.update(candle(bar));
        s.volume.update(volume(bar));
      }
    }
    loaded.current = { epoch: view.epoch, last: bars.at(-1)?.start ?? 0 };
  }, [view]);

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
