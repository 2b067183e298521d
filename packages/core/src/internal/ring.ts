/**
 * A bounded FIFO over a fixed array: a subscription's mailbox. Unlike a
 * `Queue` it is touched only synchronously by the dispatcher and by delivery
 * completions, so it needs no fiber machinery, and it never grows.
 */
export class Ring<A> {
  private readonly items: Array<A | undefined>
  private head = 0
  length = 0

  readonly capacity: number

  constructor(capacity: number) {
    this.capacity = capacity
    this.items = new Array(capacity)
  }

  /** False when full: the caller decides what overflow means. */
  push(item: A): boolean {
    if (this.length === this.capacity) return false
    this.items[(this.head + this.length) % this.capacity] = item
    this.length++
    return true
  }

  shift(): A | undefined {
    if (this.length === 0) return undefined
    const item = this.items[this.head]
    this.items[this.head] = undefined
    this.head = (this.head + 1) % this.capacity
    this.length--
    return item
  }
}
