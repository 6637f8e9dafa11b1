/** Every value of an async iterable (Array.fromAsync arrives only with Node 22). */
export async function arrayFromAsync<T>(values: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const value of values) all.push(value);
  return all;
}
