// The sidekick task's image source: the sidekick program bundled with the local esbuild next
// to its Dockerfile. Synth only stages the directory; `cdk deploy` builds and pushes the image.

import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleLambda } from './bundling';

const SIDEKICK = join(__dirname, '..', 'lambdas', 'sidekick');

let staged: string | undefined;

/** A directory holding Dockerfile and index.js (bundled once per synth). */
export function sidekickImageDirectory(): string {
  if (staged) return staged;
  const bundle = bundleLambda(join(SIDEKICK, 'main.ts'));
  copyFileSync(join(SIDEKICK, 'Dockerfile'), join(bundle.dir, 'Dockerfile'));
  staged = bundle.dir;
  return staged;
}
