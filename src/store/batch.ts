/** One socket write per event-loop turn for the commands of a client the store created. */
import type { Socket } from 'node:net'
import type { Cluster, Redis } from 'ioredis'

/** The batch of the current event-loop turn. */
export interface Batch {
  /** To call before a command is handed to the client: the first call of a turn corks its socket. */
  add(): void
  /** Runs `fn` once the commands added so far have left: at once when nothing waits in the socket. */
  sent(fn: () => void): void
}

/**
 * Batches the commands of `client`: the first command of an event-loop turn corks the client's socket,
 * and it is uncorked at `setImmediate`, after the turn's I/O callbacks. So the commands that concurrent
 * requests send in one turn leave in one write and Redis reads them in one go, which halves
 * redis-server's CPU per request under load (bench/README.md, "Batched writes"). Each command stays a
 * command of its own: its reply, its errors and ioredis's retries are handled as without the batch. A
 * Cluster client has no socket of its own (each node has one), so there this does nothing.
 *
 * Not ioredis's `enableAutoPipelining`, which batches the same commands: its pipeline objects live
 * until Redis answers, and with fifty requests in flight they outlived the young generation, which
 * cost the server 13 µs of garbage collection per increment in a CPU profile, where this costs nothing.
 */
export function turnBatch(client: Redis | Cluster): Batch {
  let turn: Turn | undefined
  const flush = (t: Turn) => {
    if (turn === t) turn = undefined
    t.stream.uncork()
    for (const fn of t.sent) fn()
  }
  return {
    add() {
      if (turn !== undefined) {
        if (++turn.size <= MAX_BATCH) return
        // A batch this large leaves now: Redis starts on it while the turn goes on.
        flush(turn)
      }
      const stream = 'stream' in client ? client.stream : undefined
      // Not connected: ioredis queues the command and writes it on connect.
      if (stream === undefined || !stream.writable) return
      const t: Turn = { stream, size: 1, sent: [] }
      turn = t
      stream.cork()
      setImmediate(() => {
        if (turn === t) flush(t)
      })
    },
    sent(fn) {
      if (turn === undefined) fn()
      else turn.sent.push(fn)
    },
  }
}

/**
 * Commands per write at most. A turn that sends tens of thousands (a bulk job, a burst after a stall)
 * would otherwise hand Redis megabytes at the end of the turn, and none of the replies could come back
 * within `timeout` (reproduced by a review: 50,000 creates in one turn, all STORE_TIMEOUT).
 */
const MAX_BATCH = 256

interface Turn {
  readonly stream: Socket
  size: number
  /** What runs once the batch has left (the start of each command's `timeout`). */
  readonly sent: (() => void)[]
}
