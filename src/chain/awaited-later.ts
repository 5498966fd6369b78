/**
 * A promise started now and awaited later (after other requests go out): its rejection must not
 * count as unhandled meanwhile. The awaiting caller still gets it.
 */
export function awaitedLater<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}
