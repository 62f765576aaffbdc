/** `plas serve`: the headless server on 127.0.0.1 (the desktop app starts the same process). */
import { Command, InvalidArgumentError } from 'commander';
import { buildServer } from '../../server/app.ts';
import { addGpuFlags, type GpuFlags, openGpu } from './gpu-options.ts';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError(`expected a port number, got "${value}"`);
  return n;
}

export function serveCommand(): Command {
  return addGpuFlags(
    new Command('serve')
      .description('run the server on localhost (health endpoint for now; the OpenAI-compatible API comes next)')
      .option(
        '--host <address>',
        'address to bind (anything but loopback exposes the server to your network)',
        '127.0.0.1',
      )
      .option('--port <n>', 'port (0 picks a free one)', port, 8188),
  ).action(async (flags: GpuFlags & { host: string; port: number }) => {
    const gpu = await openGpu(flags);
    const app = buildServer({ adapter: gpu.adapter, features: gpu.features });
    const address = await app.listen({ host: flags.host, port: flags.port });
    console.log(`PLAS Studio server listening on ${address} (health: ${address}/api/health)`);
    const stop = async () => {
      await app.close();
      gpu.destroy();
      process.exit(0);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
