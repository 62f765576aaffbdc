/**
 * Finds stop strings in streamed text. Text that might be the start of a stop string is held back until it is known
 * not to be, so a client never sees part of a stop string.
 */
export class StopStringMatcher {
  private held = '';

  constructor(private readonly stops: readonly string[]) {}

  /** Feed new text; returns the text safe to emit, and whether a stop string completed (text after it is dropped). */
  push(text: string): { emit: string; stopped: string | null } {
    const buffer = this.held + text;
    let cut = -1;
    let stopped: string | null = null;
    for (const s of this.stops) {
      const at = buffer.indexOf(s);
      if (at >= 0 && (cut < 0 || at < cut)) {
        cut = at;
        stopped = s;
      }
    }
    if (stopped !== null) {
      this.held = '';
      return { emit: buffer.slice(0, cut), stopped };
    }
    // Hold back the longest suffix that is a proper prefix of some stop string.
    let hold = 0;
    for (const s of this.stops) {
      for (let n = Math.min(s.length - 1, buffer.length); n > hold; n--) {
        if (buffer.endsWith(s.slice(0, n))) {
          hold = n;
          break;
        }
      }
    }
    this.held = buffer.slice(buffer.length - hold);
    return { emit: buffer.slice(0, buffer.length - hold), stopped: null };
  }

  /** At the end of generation: whatever was held back is ordinary text. */
  flush(): string {
    const rest = this.held;
    this.held = '';
    return rest;
  }
}
