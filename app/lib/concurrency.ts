/**
 * Runs `task` for every item, at most `limit` at a time, in the items' order. After a failure no
 * further item starts; the ones running finish, then the failure is thrown (all of them, in the
 * order they happened, when more than one lane failed).
 */
export async function forEachConcurrently<T>(items: T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const failures: unknown[] = [];
  const lane = async () => {
    while (failures.length === 0 && next < items.length) {
      try {
        await task(items[next++]!);
      } catch (error) {
        failures.push(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) throw new AggregateError(failures, `${failures.length} tasks failed; the first: ${String((failures[0] as Error)?.message ?? failures[0])}`);
}
