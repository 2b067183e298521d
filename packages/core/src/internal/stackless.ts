/**
 * Builds an error without capturing a stack trace. The delivery errors the bus
 * makes (overflow, timeout, the wrapper around a handler's cause) would only
 * capture the bus's own frames, and capturing them costs ~3.7 us each: with a
 * slow subscriber overflowing thousands of times a second, that cost landed on
 * every other subscription. A handler's own stack stays in its Cause.
 */
export const stackless = <A>(make: () => A): A => {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  try {
    return make()
  } finally {
    Error.stackTraceLimit = limit
  }
}
