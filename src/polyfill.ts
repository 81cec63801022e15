// libp2p 3 (yamux, ping, it-queue, mortice) calls Promise.withResolvers, which Node 20 lacks.
// Every entry point imports this first; on Node >= 22 it does nothing.
if (typeof (Promise as any).withResolvers !== 'function') {
  ;(Promise as any).withResolvers = function withResolvers<T>() {
    let resolve!: (value: T | PromiseLike<T>) => void
    let reject!: (reason?: unknown) => void
    const promise = new Promise<T>((res, rej) => {
      resolve = res
      reject = rej
    })
    return { promise, resolve, reject }
  }
}
export {}
