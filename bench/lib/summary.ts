/** Folds the timed runs into one figure per (scenario, variant): medians, and ratios taken round by round. */
import type { Measurement, Results, Summary } from './results.js'
import type { Scenario, Variant } from './scenarios.js'
import { median } from './stats.js'

/**
 * Medians over the rounds of each (scenario, variant), and its ratios to the hand-written handler and to
 * koa-session + koa-redis: each the median of per-round ratios, so a ratio compares runs made seconds apart.
 *
 * @example
 * const summary = summarize(measurements, ['read'], ['handwritten', 'ours', 'koa-session'])
 */
export function summarize(
  measurements: readonly Measurement[],
  scenarios: readonly Scenario[],
  variants: readonly Variant[],
): Results['summary'] {
  const out: Results['summary'] = {}
  for (const scenario of scenarios) {
    const row: Partial<Record<Variant, Summary>> = {}
    const of = (variant: Variant): Measurement[] =>
      measurements.filter((m) => m.scenario === scenario && m.variant === variant)
    const ratio = (variant: Variant, base: Variant, figure: (m: Measurement) => number): number => {
      const ratios: number[] = []
      for (const m of of(variant)) {
        const b = of(base).find((x) => x.round === m.round)
        if (b !== undefined && figure(b) > 0 && Number.isFinite(figure(m))) ratios.push(figure(m) / figure(b))
      }
      return median(ratios)
    }
    for (const variant of variants) {
      const ms = of(variant)
      if (ms.length === 0) continue
      const redisCpu = median(ms.map((m) => m.redisCpuUsPerReq).filter(Number.isFinite))
      row[variant] = {
        rps: median(ms.map((m) => m.rps)),
        p99Ms: median(ms.map((m) => m.p99Ms)),
        cpuUsPerReq: median(ms.map((m) => m.cpuUsPerReq)),
        redisCpuUsPerReq: redisCpu,
        redisRpsPerCore: redisCpu > 0 ? 1e6 / redisCpu : Number.NaN,
        redisCpuRatioKoaSession: ratio(variant, 'koa-session', (m) => m.redisCpuUsPerReq),
        ratioHandwritten: ratio(variant, 'handwritten', (m) => m.rps),
        ratioKoaSession: ratio(variant, 'koa-session', (m) => m.rps),
        rounds: ms.length,
      }
    }
    out[scenario] = row
  }
  return out
}
