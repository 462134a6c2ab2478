// A TCP proxy to a local port whose server-to-client bytes can be held per connection: lets a test order a
// Redis reply after an invalidation that Redis sent later, on another connection. Dependency-free.
import net from 'node:net'

/** One proxied client connection, in the order the proxy accepted them. */
export interface ProxiedConnection {
  /** Keeps what the server sends from reaching the client until {@link ProxiedConnection.release}. */
  hold(): void
  /**
   * Holds as `hold()` does, and from now on keeps the client's side open when the server closes its
   * side: the client is left with a half-open connection that never answers, as after a network fault.
   */
  freeze(): void
  /** Delivers what was held and passes everything through again (a frozen one whose server side closed: closes). */
  release(): void
  /**
   * Sends `command` (raw RESP) to the server as if the client had, and keeps the first `reply` that comes
   * back from reaching the client: a change of the connection's state that the client cannot see.
   */
  inject(command: string, reply: string): void
  /** Bytes held back now. */
  readonly held: number
}

/** A proxy listening on 127.0.0.1:`port`, forwarding to a port on 127.0.0.1. */
export interface TcpProxy {
  readonly port: number
  readonly connections: ProxiedConnection[]
  /**
   * From now on, a connection whose client sends bytes containing `text` is held (as by `hold()`) from
   * that moment, so the reply to that command and everything after it wait for `release()`.
   */
  holdAfter(text: string | undefined): void
  close(): Promise<void>
}

/**
 * Starts a proxy on a free port in front of 127.0.0.1:`target`, or of the port `target(i)` gives the
 * `i`-th connection (to send two connections of one client to two different servers).
 */
export async function startProxy(target: number | ((index: number) => number)): Promise<TcpProxy> {
  const connections: ProxiedConnection[] = []
  const sockets = new Set<net.Socket>()
  let trigger: string | undefined
  const server = net.createServer((client) => {
    const port = typeof target === 'number' ? target : target(connections.length)
    const upstream = net.connect({ port, host: '127.0.0.1' })
    let frozen = false
    const end = (s: net.Socket) => {
      sockets.delete(s)
      // Frozen: what the server closed stays open on the client's side, until `release()`.
      if (s === upstream && frozen) return
      client.destroy()
      upstream.destroy()
    }
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.setNoDelay(true)
      s.on('error', () => end(s))
      s.on('close', () => end(s))
    }
    let held: Buffer[] | undefined
    let swallow: string | undefined
    client.on('data', (chunk) => {
      if (trigger !== undefined && chunk.includes(trigger)) held ??= []
      if (!upstream.destroyed) upstream.write(chunk)
    })
    upstream.on('data', (data: Buffer) => {
      let chunk = data
      const at = swallow === undefined ? -1 : chunk.indexOf(swallow)
      if (swallow !== undefined && at >= 0) {
        chunk = Buffer.concat([chunk.subarray(0, at), chunk.subarray(at + swallow.length)])
        swallow = undefined
      }
      if (held) held.push(chunk)
      else client.write(chunk)
    })
    connections.push({
      hold: () => {
        held ??= []
      },
      freeze: () => {
        frozen = true
        held ??= []
      },
      release: () => {
        const chunks = held ?? []
        held = undefined
        frozen = false
        if (upstream.destroyed) client.destroy()
        else for (const chunk of chunks) client.write(chunk)
      },
      inject: (command, reply) => {
        swallow = reply
        upstream.write(command)
      },
      get held() {
        return (held ?? []).reduce((n, chunk) => n + chunk.length, 0)
      },
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as net.AddressInfo).port,
    connections,
    holdAfter: (text) => {
      trigger = text
    },
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
