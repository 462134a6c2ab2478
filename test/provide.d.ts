// Types of the values test/global-setup.ts provides, so `inject('redisPort')` is typed in test files.
declare module 'vitest' {
  export interface ProvidedContext {
    /** Port of the shared standalone Redis started by test/global-setup.ts. */
    redisPort: number
    /** `redis://127.0.0.1:<redisPort>` */
    redisUrl: string
  }
}

// Makes this file a module, so the block above augments 'vitest' instead of replacing it.
export {}
