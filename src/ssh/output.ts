/**
 * Output sinks for remote commands. Both streams of every channel are always read to the end (an
 * unread stream stalls the SSH window and the remote process with it); these decide how much of
 * what was read is kept.
 */

/**
 * Keeps the first half and the last half of at most `maxBytes` of a stream; what lies between is
 * counted and dropped. Memory is bounded by `maxBytes` plus one chunk.
 */
export class BoundedOutput {
  private readonly headLimit: number;
  private readonly tailLimit: number;
  private readonly head: Buffer[] = [];
  private headBytes = 0;
  private tail: Buffer[] = [];
  private tailBytes = 0;
  private total = 0;

  constructor(readonly maxBytes: number) {
    this.headLimit = Math.floor(maxBytes / 2);
    this.tailLimit = maxBytes - this.headLimit;
  }

  push(chunk: Buffer): void {
    this.total += chunk.length;
    let rest = chunk;
    if (this.headBytes < this.headLimit) {
      const take = Math.min(this.headLimit - this.headBytes, rest.length);
      this.head.push(rest.subarray(0, take));
      this.headBytes += take;
      rest = rest.subarray(take);
    }
    if (rest.length === 0) return;
    // Copy: a slice would pin the whole (possibly large) chunk in memory.
    this.tail.push(Buffer.from(rest));
    this.tailBytes += rest.length;
    while (this.tailBytes - (this.tail[0]?.length ?? 0) >= this.tailLimit && this.tail.length > 1) {
      this.tailBytes -= this.tail.shift()?.length ?? 0;
    }
    if (this.tailBytes > this.tailLimit * 2) this.compactTail();
  }

  /** Total bytes seen, kept or not. */
  get totalBytes(): number {
    return this.total;
  }

  get truncated(): boolean {
    return this.total > this.maxBytes;
  }

  /** The kept bytes as text; when truncated, a marker line says how much was left out. */
  text(): string {
    const head = Buffer.concat(this.head).toString('utf8');
    let tail = Buffer.concat(this.tail);
    if (!this.truncated) return head + tail.toString('utf8');
    tail = tail.subarray(Math.max(0, tail.length - this.tailLimit));
    const omitted = this.total - this.headBytes - tail.length;
    return `${head}\n[... ${omitted} bytes omitted ...]\n${tail.toString('utf8')}`;
  }

  /** The last `bytes` bytes kept, as text (for error messages). */
  tailText(bytes: number): string {
    const all = Buffer.concat([...this.head, ...this.tail]);
    return all.subarray(Math.max(0, all.length - bytes)).toString('utf8');
  }

  private compactTail(): void {
    const joined = Buffer.concat(this.tail);
    const kept = Buffer.from(joined.subarray(joined.length - this.tailLimit));
    this.tail = [kept];
    this.tailBytes = kept.length;
  }
}

/**
 * Splits a byte stream into UTF-8 lines (`\n`, a trailing `\r` removed). A line longer than
 * `maxLineBytes` is dropped whole and counted, never delivered cut: callers parse lines as JSON.
 */
export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private discarding = false;
  delivered = 0;
  dropped = 0;

  constructor(
    private readonly maxLineBytes: number,
    private readonly onLine: (line: string) => void,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    for (let nl = chunk.indexOf(0x0a); nl !== -1; nl = chunk.indexOf(0x0a, start)) {
      this.append(chunk.subarray(start, nl));
      this.emit();
      start = nl + 1;
    }
    if (start < chunk.length) this.append(chunk.subarray(start));
  }

  /** Delivers a last line that had no newline. */
  flush(): void {
    if (this.pendingBytes > 0 || this.discarding) this.emit();
  }

  private append(part: Buffer): void {
    if (this.discarding || part.length === 0) return;
    if (this.pendingBytes + part.length > this.maxLineBytes) {
      this.discarding = true;
      this.pending = [];
      this.pendingBytes = 0;
      return;
    }
    this.pending.push(Buffer.from(part));
    this.pendingBytes += part.length;
  }

  private emit(): void {
    if (this.discarding) {
      this.discarding = false;
      this.dropped += 1;
      return;
    }
    let line = Buffer.concat(this.pending).toString('utf8');
    this.pending = [];
    this.pendingBytes = 0;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    this.delivered += 1;
    this.onLine(line);
  }
}
