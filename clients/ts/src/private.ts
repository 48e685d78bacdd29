/**
 * The account's private `seq` as this client has applied it. The server
 * numbers every private event of an account, gap-free and durable across
 * restarts; a number skipped means events were missed (the connection
 * dropped, or the server restarted between them). This tracker says which
 * events are new, whether something is missing, and where to ask `fills`
 * from.
 */
export class PrivateSequence {
  /** The highest `seq` with every `seq` up to it applied (null: none yet). */
  private contiguous: number | null = null;
  /** `seq`s applied above `contiguous`, past a gap. */
  private readonly ahead = new Set<number>();

  /** The last `seq` before anything missing (where `fills` should start). */
  get last(): number | null {
    return this.contiguous;
  }

  /** Something is missing: an event above a gap was applied. */
  get hasGap(): boolean {
    return this.ahead.size > 0;
  }

  /**
   * Takes note of an event's `seq`; false if it was already applied (a
   * fill recovered with `fills` and also received live, for example).
   * The first event seen sets the baseline.
   */
  observe(seq: number): boolean {
    if (this.contiguous === null) {
      this.contiguous = seq;
      return true;
    }
    if (seq <= this.contiguous || this.ahead.has(seq)) return false;
    this.ahead.add(seq);
    while (this.ahead.delete(this.contiguous + 1)) this.contiguous += 1;
    return true;
  }

  /** The highest `seq` applied, gaps or not (null: none yet). */
  get highest(): number | null {
    if (this.contiguous === null) return null;
    return Math.max(this.contiguous, ...this.ahead);
  }

  /**
   * What was missing up to `upTo` is accounted for another way (recovered
   * fills, open orders and the account reconciled): carry on from there;
   * gaps above it stay gaps.
   */
  settle(upTo: number): void {
    if (this.contiguous === null || upTo <= this.contiguous) return;
    this.contiguous = upTo;
    for (const seq of this.ahead) if (seq <= upTo) this.ahead.delete(seq);
    while (this.ahead.delete(this.contiguous + 1)) this.contiguous += 1;
  }

  /** Another account: nothing applies. */
  reset(): void {
    this.contiguous = null;
    this.ahead.clear();
  }
}
