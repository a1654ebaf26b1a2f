/**
 * Counts what a consumer received and checks it against what was sent: `0, 1, …, n - 1`, each
 * exactly once and in order. One small monomorphic class, shared by every system so the
 * bookkeeping costs them all the same.
 */
export class Tally {
  count = 0;
  sum = 0;
  /** Index of the first value that was not the expected one, or -1. */
  firstOutOfOrder = -1;

  add(value: number): void {
    if (value !== this.count && this.firstOutOfOrder < 0) this.firstOutOfOrder = this.count;
    this.count++;
    this.sum += value;
  }

  /** Throws unless exactly `0 … n - 1` were received, in order. */
  verify(n: number, who: string): void {
    const expectedSum = (n * (n - 1)) / 2;
    if (this.count !== n || this.sum !== expectedSum) {
      throw new Error(
        `${who}: received ${this.count} values summing to ${this.sum}, expected ${n} summing to ${expectedSum}`,
      );
    }
    if (this.firstOutOfOrder >= 0) {
      throw new Error(`${who}: value #${this.firstOutOfOrder} arrived out of order`);
    }
  }
}
