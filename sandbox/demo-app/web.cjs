// The sandbox demo's `web` container: logs access-style lines, and re-reads its config file on
// SIGHUP the way nginx does, saying so in its log. It runs as PID 1 of its own PID namespace,
// so it handles every signal it cares about itself.
'use strict';
const fs = require('node:fs');

const configPath = process.env.APP_CONFIG || 'app.conf';
const log = (level, message) => process.stdout.write(`${level} ${message}\n`);

function readConfig() {
  try {
    const text = fs.readFileSync(configPath, 'utf8');
    const entries = Object.fromEntries(
      text
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#') && l.includes('='))
        .map((l) => [l.slice(0, l.indexOf('=')).trim(), l.slice(l.indexOf('=') + 1).trim()]),
    );
    return {
      entries,
      summary:
        Object.entries(entries)
          .map(([k, v]) => `${k}=${v}`)
          .join(', ') || '(empty)',
    };
  } catch (error) {
    return { entries: {}, summary: `(no config: ${error.code || error.message})` };
  }
}

// The data volume: orders the app "took" (seeded once), and a note of each start written
// atomically, so a backup never sees a half-written file.
const dataDir = process.env.APP_DATA;
function writeData() {
  if (!dataDir) return;
  const orders = require('node:path').join(dataDir, 'orders');
  if (!fs.existsSync(orders)) {
    fs.mkdirSync(orders, { recursive: true });
    for (let n = 1; n <= 25; n++) {
      const order = { id: n, item: ['tea', 'coffee', 'cake', 'bagel'][n % 4], quantity: (n % 3) + 1 };
      fs.writeFileSync(`${orders}/order-${String(n).padStart(4, '0')}.json`, `${JSON.stringify(order)}\n`);
    }
  }
  const temp = `${dataDir}/.last-start.json.tmp`;
  fs.writeFileSync(temp, `${JSON.stringify({ pid: process.pid, at: new Date().toISOString() })}\n`);
  fs.renameSync(temp, `${dataDir}/last-start.json`);
}
writeData();

let config = readConfig();
let served = 0;
log('INFO', `web started as pid ${process.pid}; config ${configPath}: ${config.summary}`);

const paths = ['/', '/health', '/api/orders', '/api/orders/42', '/api/users/me'];
setInterval(() => {
  served += 1;
  const status = served % 41 === 0 ? 500 : served % 13 === 0 ? 404 : 200;
  const greeting = config.entries.greeting ? ` greeting="${config.entries.greeting}"` : '';
  log(
    status >= 500 ? 'ERROR' : 'INFO',
    `10.0.1.${served % 250} "GET ${paths[served % paths.length]} HTTP/1.1" ${status}${greeting}`,
  );
}, 1000);

process.on('SIGHUP', () => {
  config = readConfig();
  log('INFO', `received SIGHUP: reloaded config: ${config.summary}`);
});
process.on('SIGUSR1', () => log('INFO', `received SIGUSR1: served ${served} requests`));
process.on('SIGUSR2', () => log('INFO', 'received SIGUSR2: rotating logs'));
process.on('SIGWINCH', () => log('INFO', 'received SIGWINCH: graceful worker shutdown requested'));
for (const signal of ['SIGTERM', 'SIGINT', 'SIGQUIT']) {
  process.on(signal, () => {
    log('INFO', `received ${signal}: shutting down`);
    process.exit(0);
  });
}
