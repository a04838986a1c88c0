// SharedFlights in workerd: concurrent callers share one piece of work, each waits on a promise of
// its own, failures reach every joiner, and a flight that never settles (its request went away)
// holds nobody past its join window.
import { describe, expect, it } from 'vitest';
import { SharedFlights } from '../../worker/shared-flight';

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('SharedFlights', () => {
  it('runs the work once for concurrent callers of one key, and again once it settled', async () => {
    const flights = new SharedFlights<number>(5_000);
    let runs = 0;
    const work = async () => {
      runs++;
      await tick(20);
      return runs;
    };
    const first = flights.run('a', work);
    const joiners = Array.from({ length: 20 }, () => flights.run('a', work));
    expect(joiners.every((p) => p !== first)).toBe(true);
    expect(await Promise.all([first, ...joiners])).toEqual(Array(21).fill(1));
    expect(runs).toBe(1);
    expect(flights.size).toBe(0);
    expect(await flights.run('a', work)).toBe(2);
    // Another key is another flight.
    await Promise.all([flights.run('b', work), flights.run('c', work), flights.run('b', work)]);
    expect(runs).toBe(4);
  });

  it('gives every joiner the failure of the flight, and the next caller a new flight', async () => {
    const flights = new SharedFlights<string>(5_000);
    let runs = 0;
    const failing = async () => {
      runs++;
      await tick(10);
      throw new Error(`attempt ${runs}`);
    };
    const results = await Promise.allSettled([flights.run('k', failing), flights.run('k', failing), flights.run('k', failing)]);
    expect(results.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : 'fulfilled'))).toEqual(['attempt 1', 'attempt 1', 'attempt 1']);
    expect(runs).toBe(1);
    await expect(flights.run('k', failing)).rejects.toThrow('attempt 2');
  });

  it('lets a joiner of a flight that never settles do the work itself once the join window is over', async () => {
    const flights = new SharedFlights<string>(60);
    const stuck = flights.run('k', () => new Promise<string>(() => undefined));
    const started = Date.now();
    expect(await flights.run('k', async () => 'own')).toBe('own');
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(50);
    expect(waited).toBeLessThan(1_000);
    // Past the window the stuck flight is not joined at all: new callers start their own at once.
    const t0 = Date.now();
    expect(await flights.run('k', async () => 'fresh')).toBe('fresh');
    expect(Date.now() - t0).toBeLessThan(50);
    void stuck;
  });

  it('answers a joiner as soon as the flight settles, not at the end of its window', async () => {
    const flights = new SharedFlights<string>(10_000);
    void flights.run('k', async () => {
      await tick(15);
      return 'shared';
    });
    const t0 = Date.now();
    expect(await flights.run('k', async () => 'own')).toBe('shared');
    expect(Date.now() - t0).toBeLessThan(1_000);
  });
});
