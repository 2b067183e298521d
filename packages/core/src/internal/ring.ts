/**
 * A bounded FIFO over an array that grows on demand, doubling up to its
 * capacity: a mailbox lane. Unlike a `Queue` it is touched only synchronously
 * by the dispatcher and by delivery completions, so it needs no fiber
 * machinery. Growing lazily keeps a subscription with three 1024-slot lanes
 * at a few hundred bytes until it actually backs up.
 */
export class Ring<A> {
  private items: Array<A | undefined>
  private head = 0
  length = 0

  readonly capacity: number

  constructor(capacity: number) {
    this.capacity = capacity
    this.items = new Array(Math.min(capacity, 16))
  }

  /** False when full: the caller decides what overflow means. */
  push(item: A): boolean {
    if (this.length === this.capacity) return false
    if (this.length === this.items.length) this.grow()
    // A wrap by subtraction, not `%`: both indices stay below the array's size.
    let tail = this.head + this.length
    if (tail >= this.items.length) tail -= this.items.length
    this.items[tail] = item
    this.length++
    return true
  }

  shift(): A | undefined {
    if (this.length === 0) return undefined
    const item = this.items[this.head]
    this.items[this.head] = undefined
    this.head = this.head + 1 === this.items.length ? 0 : this.head + 1
    this.length--
    return item
  }

  private grow(): void {
    const size = Math.min(this.capacity, this.items.length * 2)
    const next = new Array<A | undefined>(size)
    for (let i = 0; i < this.length; i++) next[i] = this.items[(this.head + i) % this.items.length]
    this.items = next
    this.head = 0
  }
}
