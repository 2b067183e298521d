/**
 * Promise and async-iterator views of a subscription, for the facade's
 * `once(target)` and `events(target)`. Both take a `subscribe` that makes the
 * subscription at once (so nothing published after the call is missed) and
 * a set of closers the facade runs once it has stopped.
 */

type Subscribe<E> = (handler: (envelope: E) => void | Promise<void>) => () => Promise<void>

const abortReason = (signal: AbortSignal): unknown =>
  signal.reason ?? Object.assign(new Error("The operation was aborted"), { name: "AbortError" })

/** The next event, as a Promise. */
export const next = <E>(
  subscribe: Subscribe<E>,
  closers: Set<() => void>,
  closedError: () => unknown,
  signal: AbortSignal | undefined
): Promise<E> =>
  new Promise<E>((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal))
    let off: (() => Promise<void>) | undefined
    const settle = () => {
      closers.delete(onClose)
      signal?.removeEventListener("abort", onAbort)
    }
    const onClose = () => {
      settle()
      reject(closedError())
    }
    const onAbort = () => {
      settle()
      void off?.()
      reject(abortReason(signal!))
    }
    try {
      off = subscribe((envelope) => {
        settle()
        resolve(envelope)
      })
    } catch (error) {
      return reject(error)
    }
    closers.add(onClose)
    signal?.addEventListener("abort", onAbort, { once: true })
  })

/**
 * The events as an async iterator over a bounded buffer. A full buffer holds
 * the handler (its Promise resolves once the reader made room), so the bus's
 * mailbox rule applies, not an unbounded array.
 */
export const iterate = <E>(
  subscribe: Subscribe<E>,
  closers: Set<() => void>,
  capacity: number,
  signal: AbortSignal | undefined
): AsyncIterableIterator<E> => {
  const buffer: Array<E> = []
  let reader: ((result: IteratorResult<E>) => void) | undefined
  let room: Array<() => void> = []
  let ended = false
  let off: (() => Promise<void>) | undefined

  const end = () => {
    if (ended) return
    ended = true
    closers.delete(end)
    signal?.removeEventListener("abort", stop)
    const waiting = room
    room = []
    for (const resume of waiting) resume()
    if (reader !== undefined && buffer.length === 0) {
      const r = reader
      reader = undefined
      r({ value: undefined, done: true })
    }
  }
  const stop = () => {
    end()
    buffer.length = 0
    void off?.()
  }

  off = subscribe((envelope) => {
    if (ended) return
    if (reader !== undefined) {
      const r = reader
      reader = undefined
      return r({ value: envelope, done: false })
    }
    buffer.push(envelope)
    if (buffer.length >= capacity) return new Promise<void>((resume) => room.push(resume))
  })
  closers.add(end)
  if (signal?.aborted) stop()
  else signal?.addEventListener("abort", stop, { once: true })

  const iterator: AsyncIterableIterator<E> = {
    next: () => {
      if (buffer.length > 0) {
        const value = buffer.shift()!
        room.shift()?.()
        return Promise.resolve({ value, done: false })
      }
      if (ended) return Promise.resolve({ value: undefined, done: true })
      return new Promise((resolve) => {
        reader = resolve
      })
    },
    return: async () => {
      stop()
      await off?.()
      return { value: undefined, done: true }
    },
    [Symbol.asyncIterator]: () => iterator
  }
  return iterator
}
