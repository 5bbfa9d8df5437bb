// A small promise helper of the persistent log: several file operations in flight at once, none
// left running when one fails (so a rollback never races a write that is still landing).

/** Like Promise.all, but waits for every operation to finish before reporting the first failure. */
export async function settleAll(operations: Promise<void>[]): Promise<void> {
  const results = await Promise.allSettled(operations);
  for (const result of results) if (result.status === 'rejected') throw result.reason;
}
