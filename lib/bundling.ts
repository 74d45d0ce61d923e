// Bundles a Lambda entry with the local esbuild: synth needs no Docker. The benchmark uses the
// same function, so the sizes it reports are the deployed ones.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync, Metafile } from 'esbuild';

/** Lambda runs Node 24 (nodejs24.x); the bundle targets 22 so it also runs on nodejs22.x. */
export const BUNDLE_TARGET = 'node22';

export interface Bundle {
  readonly dir: string;
  readonly file: string;
  readonly metafile: Metafile;
}

export function bundleLambda(
  entry: string,
  extraFiles: Record<string, string> = {},
  outDir?: string,
): Bundle {
  const dir = outDir ?? mkdtempSync(join(tmpdir(), 'ecs-sidekick-bundle-'));
  const file = join(dir, 'index.js');
  const result = buildSync({
    entryPoints: [entry],
    outfile: file,
    bundle: true,
    platform: 'node',
    target: BUNDLE_TARGET,
    format: 'cjs',
    minify: true,
    // The SDK's ES module builds tree-shake better than its CommonJS builds.
    mainFields: ['module', 'main'],
    legalComments: 'none',
    metafile: true,
    logLevel: 'silent',
  });
  for (const [name, content] of Object.entries(extraFiles)) writeFileSync(join(dir, name), content);
  return { dir, file, metafile: result.metafile };
}
