// The sandbox demo's `worker` container: a background job loop.
'use strict';
let n = 0;
const timer = setInterval(() => {
  n += 1;
  process.stdout.write(
    n % 37 === 0
      ? `WARN job ${n} retried: upstream timeout after 2000ms\n`
      : `INFO job ${n} done in ${((n * 7) % 90) + 5}ms\n`,
  );
}, 1000);
for (const signal of ['SIGTERM', 'SIGINT', 'SIGQUIT']) {
  process.on(signal, () => {
    clearInterval(timer);
    process.stdout.write(`INFO received ${signal}: finishing\n`);
    process.exit(0);
  });
}
process.on('SIGHUP', () => process.stdout.write('INFO received SIGHUP: nothing to reload\n'));
