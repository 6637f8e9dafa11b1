/** Every value of an async iterable (Array.fromAsync arrives only with Node 22). */
export async function arrayFromAsync<T>(values: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const value of values) all.push(value);
  return all;
}

/**
 * Run `check` until it stops throwing, for at most `withinMs` (then its last error is thrown);
 * with 0, exactly once. For changes made by another process or node: an SQLite server sees them
 * at once, a PostgreSQL node within the bound of src/identity/identity-postgres.ts (FRESH_MS).
 */
export async function eventually<T>(check: () => Promise<T>, withinMs: number): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() >= deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
