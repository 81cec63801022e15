import type { Command } from 'commander'
import type { CliContext } from '../context.js'

/** `pryv-node metrics`: the local node's metrics, through its control socket. */
export function registerMetricsCommand(program: Command, ctx: CliContext): void {
  program.command('metrics')
    .description('Print the local node\'s metrics in the Prometheus text format (pryv_node_*, pryv_dns_*, Node.js process metrics).')
    .option('--json', 'print prom-client\'s JSON form instead')
    .addHelpText('after', '\nTo let Prometheus scrape a node, run it with --metrics 127.0.0.1:9464 (loopback only): it then serves GET /metrics.\n\nExample:\n  pryv-node metrics | grep pryv_dns_responses_total')
    .action(async (o: { json?: boolean }) => {
      if (o.json) {
        ctx.io.out(JSON.stringify(await ctx.control('metrics', { format: 'json' }), null, 2))
        return
      }
      const r = await ctx.control('metrics', { format: 'text' }) as { text: string }
      ctx.io.out(r.text)
    })
}
