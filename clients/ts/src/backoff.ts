/**
 * Reconnect delays: exponential, capped, with jitter, so that thousands of
 * clients dropped at once (a server restart) do not all come back in the
 * same millisecond.
 */

export interface BackoffOptions {
  /** The first delay's ceiling, in ms (default 250). */
  initialMs?: number;
  /** The largest delay, in ms (default 10,000). */
  maxMs?: number;
  /** Growth per attempt (default 2). */
  factor?: number;
}

/**
 * The delay before reconnect attempt `attempt` (0 for the first): half of
 * the exponential step for sure, the other half at random ("equal jitter"),
 * so delays never collapse to zero but still spread.
 */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions = {},
  random: () => number = Math.random,
): number {
  const initial = options.initialMs ?? 250;
  const max = options.maxMs ?? 10_000;
  const factor = options.factor ?? 2;
  const step = Math.min(max, initial * factor ** Math.min(attempt, 30));
  return step / 2 + random() * (step / 2);
}
