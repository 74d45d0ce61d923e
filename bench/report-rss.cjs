// Preloaded into the sidekick process by the benchmark: writes its peak RSS (KiB) on exit.
'use strict';
process.on('exit', () => {
  const file = process.env.BENCH_RSS_FILE;
  if (file) require('node:fs').writeFileSync(file, String(process.resourceUsage().maxRSS));
});
