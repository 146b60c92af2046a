/** A clock tests move by hand, shared by the emulator and the code under test so tokens expire without sleeping. */
export interface VirtualClock {
  now: () => number
  advance(ms: number): void
}

export function virtualClock(start = Date.UTC(2026, 0, 1)): VirtualClock {
  let current = start
  return {
    now: () => current,
    advance: (ms) => {
      current += ms
    },
  }
}
