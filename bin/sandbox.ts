// `npm start`: runs the local sandbox until Ctrl-C.

import { Command } from 'commander';
import { loadConfigFile } from '../lib/config';
import { startSandbox } from '../sandbox/sandbox';

const program = new Command()
  .name('sandbox')
  .description('ecs-sidekick on your machine: moto as AWS, the demo seeded, the API checking SigV4 and tiers')
  .option(
    '--aws-endpoint <url>',
    'use an AWS endpoint that is already running instead of starting moto (no demo seeding)',
  )
  .option('--config <file>', "an ecs-sidekick config file (default: the demo's)")
  .option('--seed', 'seed the demo even with --aws-endpoint')
  .option('--no-seed', 'do not seed the demo')
  .option('--port <port>', 'port of the local API (default: a free one)', (v) => Number.parseInt(v, 10))
  .option('--state-dir <dir>', 'where sandbox.json and handlers.log go', '.sidekick')
  .parse();

interface Options {
  awsEndpoint?: string;
  config?: string;
  seed?: boolean;
  port?: number;
  stateDir: string;
}

async function main() {
  const opts = program.opts<Options>();
  const started = Date.now();
  const sandbox = await startSandbox({
    ...(opts.awsEndpoint ? { awsEndpoint: opts.awsEndpoint } : {}),
    ...(opts.config ? { config: loadConfigFile(opts.config) } : {}),
    ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
    ...(opts.port !== undefined ? { port: opts.port } : {}),
    stateDir: opts.stateDir,
    onRequest: (r) =>
      console.log(
        `${new Date().toISOString()} ${r.method} ${r.path} → ${r.status} (${r.caller}, ${r.durationMs} ms)`,
      ),
  });
  console.log(`ecs-sidekick sandbox is up (${((Date.now() - started) / 1000).toFixed(1)} s)
  API:  ${sandbox.apiUrl}   (SigV4 required; the stack's tier policies apply)
  AWS:  ${sandbox.awsEndpoint}${opts.awsEndpoint ? '' : '   (moto)'}
  Identities and URLs: ${opts.stateDir}/sandbox.json (the CLI picks them up)

In another shell, try:
  npx sidekick services
  npx sidekick logs web --since 5m
  npx sidekick logs web --follow
  npx sidekick diagnose web
  npx sidekick exec web -- ls -la /
  npx sidekick backup web --volume data --wait
  npx sidekick restart web --wait
  npx sidekick runbook list
  npx sidekick logs web --as read        # a tier identity; --as none sends unsigned
(the README has more, including runbook inputs)

Ctrl-C stops the sandbox and everything it started.`);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log('\nstopping…');
    await sandbox.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((error: unknown) => {
  console.error(`sandbox: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
