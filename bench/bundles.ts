// Each Lambda's bundle (the deployed one: same esbuild function as the stack) next to a
// bundle of only the SDK clients and commands it uses: size, and module load time as the
// median of fresh Node processes requiring it.

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { bundleLambda, Bundle } from '../lib/bundling';
import { TARGETS_FILE } from '../lambdas/shared/targets';
import { median, round } from './stats';

const run = promisify(execFile);
const ROOT = join(__dirname, '..');
export const LOAD_RUNS = 15;

/** Lambda entry and its baseline (see bench/baselines). */
const LAMBDAS = {
  read: ['lambdas/tiers/read.ts', 'bench/baselines/read-clients.ts'],
  breakglass: ['lambdas/tiers/breakglass.ts', 'bench/baselines/exec-clients.ts'],
  signal: ['lambdas/tiers/signal.ts', 'bench/baselines/exec-clients.ts'],
  operate: ['lambdas/tiers/operate.ts', 'bench/baselines/operate-clients.ts'],
  'config-files': ['lambdas/tiers/files.ts', 'bench/baselines/files-nothing.ts'],
} as const;

export interface BundleResult {
  readonly lambda: string;
  readonly bundleKiB: number;
  readonly loadMs: number;
  readonly baselineKiB: number;
  readonly baselineLoadMs: number;
  readonly sizeRatio: number;
  readonly loadRatio: number;
}

async function loadTimeMs(file: string): Promise<number> {
  const script = `const t=process.hrtime.bigint();require(${JSON.stringify(file)});process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6))`;
  const env = {
    ...process.env,
    AWS_REGION: 'us-east-1',
    SIDEKICK_AUDIT_LOG_GROUP: '/bench/audit',
    SIDEKICK_BUCKET: 'bench',
    SIDEKICK_TABLE: 'bench',
    SIDEKICK_SIGNAL_FUNCTION: 'bench-signal',
    SIDEKICK_FILES_SERVICE: 'web',
    SIDEKICK_FILES_VOLUME: 'config',
    SIDEKICK_FILES_ROOT: '/tmp',
    SIDEKICK_FILES_ACCESS: 'write',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  const times: number[] = [];
  for (let i = 0; i < LOAD_RUNS; i++)
    times.push(Number((await run(process.execPath, ['-e', script], { env })).stdout));
  return median(times);
}

const sizeKiB = (b: Bundle) => Object.values(b.metafile.outputs)[0]!.bytes / 1024;

export async function benchBundles(): Promise<BundleResult[]> {
  const targets = JSON.stringify([{ name: 'web', cluster: 'c', service: 'web' }]);
  const results: BundleResult[] = [];
  for (const [lambda, [entry, baselineEntry]] of Object.entries(LAMBDAS)) {
    const ours = bundleLambda(join(ROOT, entry), { [TARGETS_FILE]: targets });
    const baseline = bundleLambda(join(ROOT, baselineEntry));
    const loadMs = await loadTimeMs(ours.file);
    const baselineLoadMs = await loadTimeMs(baseline.file);
    results.push({
      lambda,
      bundleKiB: round(sizeKiB(ours)),
      loadMs: round(loadMs),
      baselineKiB: round(sizeKiB(baseline)),
      baselineLoadMs: round(baselineLoadMs),
      sizeRatio: round(sizeKiB(ours) / sizeKiB(baseline), 2),
      loadRatio: round(loadMs / baselineLoadMs, 2),
    });
  }
  return results;
}
