/** A per-run memo: `make()` runs once per key, later calls get its value (a Promise is kept as it is). */
export function memoCache(): <T>(key: string, make: () => T) => T {
  const memo = new Map<string, unknown>();
  return <T>(key: string, make: () => T): T => {
    if (!memo.has(key)) memo.set(key, make());
    return memo.get(key) as T;
  };
}
