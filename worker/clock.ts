/** The one clock of the Worker: epoch milliseconds. Injected where a test must move time by hand. */
export type Clock = () => number;

/** The runtime's clock. */
export const systemClock: Clock = () => Date.now();
