// The `sidekick` CLI entry.

import { main } from '../cli/main';

main(process.argv).then((code) => process.exit(code));
