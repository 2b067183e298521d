/** The progress line on stderr: overwritten in a terminal, one line per step otherwise (CI logs). */
export class Progress {
  private readonly started = performance.now()
  private readonly tty = process.stderr.isTTY === true
  private done = 0
  total: number

  constructor(total: number) {
    this.total = total
  }

  step(label: string): void {
    this.done++
    const secs = ((performance.now() - this.started) / 1000).toFixed(0)
    const line = `[${String(this.done).padStart(3)}/${this.total}] ${secs}s ${label}`
    if (this.tty) process.stderr.write(`\r\x1b[K${line.slice(0, (process.stderr.columns ?? 120) - 1)}`)
    else process.stderr.write(`${line}\n`)
  }

  note(text: string): void {
    if (this.tty) process.stderr.write(`\r\x1b[K${text}\n`)
    else process.stderr.write(`${text}\n`)
  }

  end(): void {
    if (this.tty) process.stderr.write("\r\x1b[K")
  }

  get elapsedSec(): number {
    return (performance.now() - this.started) / 1000
  }
}
