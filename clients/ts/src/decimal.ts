/**
 * Exact decimal strings, as the protocol writes prices and quantities.
 * Nothing here goes through floating point: values are scaled `bigint`s, so
 * an order ticket can check a price against the tick size exactly as the
 * server will.
 */

import type { Instrument } from "./protocol.js";

const PLAIN_DECIMAL = /^(-?)(\d+)(?:\.(\d+))?$/;

/**
 * `text` times 10^`decimals` as a bigint, or `null` when `text` is not a
 * plain decimal (digits, one optional point, an optional leading `-`) or has
 * significant digits beyond `decimals` (`"64000.500"` is fine at 2 decimals,
 * `"64000.505"` is not: nothing is rounded).
 */
export function parseScaled(text: string, decimals: number): bigint | null {
  const m = PLAIN_DECIMAL.exec(text);
  if (m === null) return null;
  const [, sign, whole = "0", frac = ""] = m;
  const extra = frac.slice(decimals);
  if (/[^0]/.test(extra)) return null;
  const digits = whole + frac.slice(0, decimals).padEnd(decimals, "0");
  const value = BigInt(digits);
  return sign === "-" ? -value : value;
}

/** A scaled bigint written with exactly `decimals` decimals. */
export function formatScaled(value: bigint, decimals: number): string {
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString().padStart(decimals + 1, "0");
  const whole = digits.slice(0, digits.length - decimals);
  const frac = digits.slice(digits.length - decimals);
  return (negative ? "-" : "") + (decimals > 0 ? `${whole}.${frac}` : whole);
}

/**
 * Orders two decimal strings by value (`<0`, `0`, `>0`), exactly, whatever
 * their number of decimals.
 */
export function compareDecimal(a: string, b: string): number {
  const decimals = Math.max(fractionDigits(a), fractionDigits(b));
  const x = parseScaled(a, decimals);
  const y = parseScaled(b, decimals);
  if (x === null || y === null) return Number(a) - Number(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function fractionDigits(text: string): number {
  const point = text.indexOf(".");
  return point < 0 ? 0 : text.length - point - 1;
}

/**
 * `text` (a price or a quantity, named `what`) as a scaled value, or why it
 * is refused: not a plain decimal, too many decimals, not positive, off the
 * `step` grid.
 */
function onGrid(
  what: "price" | "qty",
  text: string,
  decimals: number,
  step: string,
  stepName: string,
): { problem: string } | { value: bigint } {
  const value = parseScaled(text, decimals);
  const unit = parseScaled(step, decimals);
  if (value === null || unit === null) {
    const problem = PLAIN_DECIMAL.test(text)
      ? `${what} ${text} has more than ${decimals} decimals`
      : `${what} "${text}" is not a decimal number`;
    return { problem };
  }
  if (value <= 0n) return { problem: `${what} ${text} must be positive` };
  if (value % unit !== 0n) {
    return { problem: `${what} ${text} is not a multiple of the ${stepName} ${step}` };
  }
  return { value };
}

/** Why `price` would be refused for `instrument` (`null`: it would not). */
export function checkPrice(instrument: Instrument, price: string): string | null {
  const checked = onGrid(
    "price",
    price,
    instrument.price_decimals,
    instrument.tick_size,
    "tick size",
  );
  return "problem" in checked ? checked.problem : null;
}

/** Why `qty` would be refused for `instrument` (`null`: it would not). */
export function checkQty(instrument: Instrument, qty: string): string | null {
  const checked = onGrid("qty", qty, instrument.qty_decimals, instrument.lot_size, "lot size");
  if ("problem" in checked) return checked.problem;
  const max = parseScaled(instrument.max_qty, instrument.qty_decimals);
  if (max !== null && checked.value > max) {
    return `qty ${qty} is more than the most allowed, ${instrument.max_qty}`;
  }
  return null;
}

/** `price` written with exactly the instrument's decimals. */
export function normalizePrice(instrument: Instrument, price: string): string | null {
  const value = parseScaled(price, instrument.price_decimals);
  return value === null ? null : formatScaled(value, instrument.price_decimals);
}

/** `qty` written with exactly the instrument's decimals. */
export function normalizeQty(instrument: Instrument, qty: string): string | null {
  const value = parseScaled(qty, instrument.qty_decimals);
  return value === null ? null : formatScaled(value, instrument.qty_decimals);
}
