/** Display formatting. Wire strings are shown as they are; numbers derived
 *  from them (sums, ratios) are for display only. */

const compact = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2, notation: "compact" });

/** `12.3 k`-style, for volumes. */
export function compactNumber(value: number): string {
  return compact.format(value);
}

/** `+1.23%` / `-0.50%`. */
export function percent(value: number): string {
  const sign = value > 0 ? "+" : "";
  return `${sign}${(value * 100).toFixed(2)}%`;
}

/** `n` with `decimals` decimals. */
export function fixed(value: number, decimals: number): string {
  return value.toFixed(decimals);
}

/** HH:MM:SS.mmm of a nanosecond timestamp, in local time. */
export function clockTime(tsNanos: number): string {
  const date = new Date(tsNanos / 1e6);
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

/** How long ago, for the data-age display. */
export function age(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms / 60_000)} min`;
}
