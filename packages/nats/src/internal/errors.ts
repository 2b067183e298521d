/** What the NATS client throws, mapped to the transport's typed errors. */
import { NatsUnavailableError, PublishNotAcknowledgedError, StreamMissingError } from "../NatsErrors.ts"

/** A readable message of anything thrown by the NATS client. */
export const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error))

const isNoResponders = (error: unknown): boolean => {
  if (!(error instanceof Error)) return false
  if (error.name === "NoRespondersError") return true
  const test = (error as { isNoResponders?: () => boolean }).isNoResponders
  return typeof test === "function" ? test.call(error) : isNoResponders(error.cause)
}

const CONNECTION = new Set(["ClosedConnectionError", "DrainingConnectionError", "ConnectionError"])

/** A publish that failed: no stream on the subject, connection gone, or no acknowledgement. */
export const publishError = (stream: string, type: string) => (error: unknown) => {
  if (isNoResponders(error)) {
    return new StreamMissingError({ stream, message: `no JetStream stream captures the subject of ${type}` })
  }
  if (error instanceof Error && CONNECTION.has(error.name)) {
    return new NatsUnavailableError({ operation: "publish", message: error.message })
  }
  return new PublishNotAcknowledgedError({ type, message: messageOf(error) })
}
