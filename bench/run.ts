// `npm run bench`: prints a table per benchmark and writes bench/results.json.
//   bundles.ts     each Lambda's bundle size and load time next to its bare SDK clients
//   logs-query.ts  25,000 events through the API next to `aws logs filter-log-events`
//   exec.ts        ECS Exec round trip overhead and 1 MB throughput on the sandbox
//   volumes.ts     backup/restore of a 1 GiB tree next to tar, peak RSS, config latency

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchBundles, LOAD_RUNS } from './bundles';
import { benchExec, EXEC_RUNS } from './exec';
import { benchQuery, QUERY_RUNS } from './logs-query';
import { benchVolumes, CONFIG_RUNS } from './volumes';
import { benchRunbooks, RUNBOOK_RUNS } from './runbooks';

async function main() {
  const bundles = await benchBundles();
  console.log(
    `\nLambda bundles (esbuild, minified; load = require() in a fresh Node process, median of ${LOAD_RUNS})`,
  );
  console.table(bundles);

  const query = await benchQuery();
  console.log(`\n${query.events} events in ${query.streams} streams on moto (median of ${QUERY_RUNS} runs)`);
  console.table({
    'ecs-sidekick API (paged, limit 10000)': {
      awsCalls: query.sidekick.awsCalls,
      filterLogEvents: query.sidekick.filterLogEventsCalls,
      requests: query.sidekick.apiRequests,
      wallMs: query.sidekick.wallMs,
    },
    'aws logs filter-log-events': {
      awsCalls: query.awsCli.filterLogEventsCalls,
      filterLogEvents: query.awsCli.filterLogEventsCalls,
      requests: 1,
      wallMs: query.awsCli.wallMs,
    },
  });
  console.log(`ratios (sidekick / aws cli): wall ${query.wallRatio}, AWS calls ${query.callRatio}`);

  const exec = await benchExec();
  console.log(`\nECS Exec on the sandbox (KMS-encrypted sessions, median of ${EXEC_RUNS})`);
  console.table({
    'overhead over the command (sleep 0.1)': { medianMs: exec.overheadMedianMs, p90Ms: exec.overheadP90Ms },
    'round trip of `true`': { medianMs: exec.trueRoundTripMedianMs, p90Ms: '' },
    '1 MB of output (data channel)': {
      medianMs: exec.megabyteMedianMs,
      p90Ms: `${exec.megabytesPerSecond} MB/s`,
    },
  });

  const volumes = await benchVolumes();
  console.log(
    `\nBackup and restore of a ${volumes.treeMiB} MiB mixed tree (${volumes.files} files), sidekick program as its own process`,
  );
  console.table({
    'backup (sidekick → S3)': {
      seconds: volumes.backup.sidekickS,
      MiBps: volumes.backup.sidekickMiBps,
      peakRssMiB: volumes.backup.peakRssMiB,
    },
    'tar -cz | sha256sum': { seconds: volumes.backup.tarS, MiBps: volumes.backup.tarMiBps, peakRssMiB: '' },
    'restore (S3 → verified swap)': {
      seconds: volumes.restore.sidekickS,
      MiBps: volumes.restore.sidekickMiBps,
      peakRssMiB: volumes.restore.peakRssMiB,
    },
    'tar -xz': { seconds: volumes.restore.tarS, MiBps: volumes.restore.tarMiBps, peakRssMiB: '' },
  });
  console.log(
    `throughput ratios (sidekick / tar): backup ${volumes.backup.ratio}, restore ${volumes.restore.ratio}`,
  );
  console.log(
    `config through the sandbox API (median of ${CONFIG_RUNS}): write ${volumes.config.writeMedianMs} ms, read ${volumes.config.readMedianMs} ms`,
  );

  const runbooks = await benchRunbooks();
  console.log(`\nRestarts and runbooks on the sandbox (polls every 0.5 s; median of ${RUNBOOK_RUNS})`);
  console.table(runbooks);

  const results = {
    date: new Date().toISOString(),
    node: process.version,
    bundles,
    logsQuery: query,
    exec,
    volumes,
    runbooks,
  };
  writeFileSync(join(__dirname, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  console.log('\nwrote bench/results.json');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
