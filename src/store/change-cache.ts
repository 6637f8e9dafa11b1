// A cache of values read from the metadata, trusted only while the engine's change counter
// (meta/metadata.ts changeCounter) stands still: SQLite's PRAGMA data_version moves whenever any
// other connection commits, this process's writer or the CLI in another process, so an entry
// can never outlive the row it copies. An engine without such a counter (PostgreSQL, shared by
// several nodes) gets no caching at all: every read goes to the database. Bounded: at
// `maxEntries` the cache starts over.
export class ChangeCounterCache<V> {
  private readonly entries = new Map<string, V>();
  private counter: number | undefined = -1;

  constructor(private readonly changeCounter: () => number | undefined, private readonly maxEntries = 10_000) {}

  async get(key: string, load: () => Promise<V>): Promise<V> {
    const counter = this.changeCounter();
    if (counter === undefined) return load();
    if (counter !== this.counter) {
      this.entries.clear();
      this.counter = counter;
    }
    if (this.entries.has(key)) return this.entries.get(key) as V;
    const value = await load();
    // A commit between the counter read and the load: the value may already be stale; keep it
    // only if the counter has not moved meanwhile.
    if (this.changeCounter() === counter) {
      if (this.entries.size >= this.maxEntries) this.entries.clear();
      this.entries.set(key, value);
    }
    return value;
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}
