/**
 * One piece of work shared by the requests of an isolate that want it at the same time (a token
 * read, a refusal report), made safe for workerd, where a promise belongs to the request that
 * made it:
 *
 * - A request that joins another's flight gets a promise of its own, settled when the flight
 *   settles. Awaiting the flight itself would run the joiner's continuation in the context of the
 *   request that settled it, where the joiner's own I/O (its upstream `fetch`) is refused
 *   ("Cannot perform I/O on behalf of a different request"); a promise made by the joiner is
 *   settled into the joiner's own context instead.
 * - A flight whose request went away before it settled (the caller hung up: its I/O is cancelled
 *   and never settles) must not hold the others: a joiner waits at most until the flight is
 *   `joinForMs` old, then does the work itself, and a flight that old is no longer joined.
 */

/** What a joiner got when the flight outlived its join window. */
const ABANDONED = Symbol('abandoned');

interface Flight<T> {
  promise: Promise<T>;
  startedAt: number;
}

export class SharedFlights<T> {
  private readonly flights = new Map<string, Flight<T>>();

  constructor(
    /** How long a flight may be joined (longer than the work can take when all goes well). */
    private readonly joinForMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Flights not yet settled (tests). */
  get size(): number {
    return this.flights.size;
  }

  /** Runs `work` for `key`, or joins the flight for `key` that is already under way. */
  run(key: string, work: () => Promise<T>): Promise<T> {
    const now = this.now();
    const flight = this.flights.get(key);
    if (flight !== undefined && now - flight.startedAt < this.joinForMs) return this.join(flight, flight.startedAt + this.joinForMs - now, work);
    return this.start(key, work, now);
  }

  private start(key: string, work: () => Promise<T>, now: number): Promise<T> {
    const promise = work().finally(() => {
      if (this.flights.get(key)?.promise === promise) this.flights.delete(key);
    });
    this.flights.set(key, { promise, startedAt: now });
    return promise;
  }

  private async join(flight: Flight<T>, waitMs: number, work: () => Promise<T>): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let outcome: { value: T } | typeof ABANDONED;
    try {
      // The flight's callbacks only settle this request's promise; the timer is this request's.
      outcome = await new Promise<{ value: T } | typeof ABANDONED>((resolve, reject) => {
        timer = setTimeout(() => resolve(ABANDONED), waitMs);
        flight.promise.then((value) => resolve({ value }), reject);
      });
    } finally {
      // Back in this request's context: its own timer may be cleared here.
      if (timer !== undefined) clearTimeout(timer);
    }
    return outcome === ABANDONED ? work() : outcome.value;
  }
}
