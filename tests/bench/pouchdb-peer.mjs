// PouchDB peer benchmark, run by tests/bench/pouchdb-peer.sh (which installs the packages).
//
//   node pouchdb-peer.mjs [--docs N] [--doc-bytes B] [--batch K]
//
// Starts pouchdb-server (leveldb) on a free loopback port with everything in a fresh temp dir,
// fills a local PouchDB (leveldb) with N inspection-case docs of B bytes of JSON each (untimed),
// then times
//   push:      PouchDB.replicate(local, remote, {batch_size: K})
//   bootstrap: PouchDB.replicate(remote, fresh empty local, {batch_size: K})
// and checks that every database ends up with N docs. stdout carries only:
//   # <one comment line: versions, N, doc bytes, seconds>
//   pouchdb.push: <docs/s> docs/s
//   pouchdb.bootstrap: <docs/s> docs/s
// Everything else goes to stderr. Exit status is non-zero on any failure. The server and the
// temp dir are removed at the end, on errors and on SIGINT/SIGTERM/SIGHUP.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const log = (...a) => console.error('pouchdb-peer:', ...a);

// ---------------------------------------------------------------------------------------------
// Arguments

function parseArgs(argv) {
  const opts = { docs: 20000, 'doc-bytes': 900, batch: 500 };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    if (arg === '-h' || arg === '--help') {
      console.error('usage: pouchdb-peer [--docs N] [--doc-bytes B] [--batch K]');
      process.exit(0);
    }
    let value;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const key = arg.replace(/^--/, '');
    if (!arg.startsWith('--') || !(key in opts)) {
      throw new UsageError(`unknown argument '${argv[i]}' (known: --docs, --doc-bytes, --batch)`);
    }
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`${arg} needs a value`);
      value = argv[++i];
    }
    if (!/^[0-9]+$/.test(value) || Number(value) < 1) {
      throw new UsageError(`${arg} must be a positive integer, got '${value}'`);
    }
    opts[key] = Number(value);
  }
  return { docs: opts.docs, docBytes: opts['doc-bytes'], batch: opts.batch };
}

class UsageError extends Error {}

// ---------------------------------------------------------------------------------------------
// Documents: deterministic (seeded), so every run pushes the same bytes.

function rng(seed) {
  // mulberry32
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo, hi) => lo + Math.floor(next() * (hi - lo)); // [lo, hi)
  const pick = (xs) => xs[int(0, xs.length)];
  return { next, int, pick };
}

const CATEGORIES = [
  ['0101', '暴露垃圾/乱倒垃圾'],
  ['0102', '垃圾满溢'],
  ['0103', '积存垃圾渣土/卫生死角'],
  ['0104', '道路不洁/路面污染'],
  ['0105', '乱堆乱放'],
  ['0106', '私搭乱建'],
  ['0201', '乱贴乱画/非法小广告(牛皮癣)'],
  ['0202', '违规户外广告/招牌破损'],
  ['0203', '公益广告缺失/破损'],
  ['0301', '工地围挡缺损'],
  ['0302', '工地扬尘/裸土未覆盖'],
  ['0303', '道路遗撒'],
];
const DISTRICTS = ['上城区', '拱墅区', '西湖区', '滨江区', '萧山区', '余杭区'];
const ROADS = ['文三路', '天目山路', '延安路', '解放路', '庆春路', '凤起路', '莫干山路', '江南大道'];
const STATUSES = ['new', 'assigned', 'in_progress', 'awaiting_review', 'resolved', 'closed'];
const FILLER =
  '现场巡查时发现该问题，已拍照取证并告知相关责任单位，' +
  '周边群众反映强烈，建议尽快派员处置，处置完毕后需复核并上传整改照片。';

function uuid4(r) {
  const b = new Uint8Array(16);
  for (let i = 0; i < 16; i++) b[i] = r.int(0, 256);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Buffer.from(b).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function makeDoc(r, i, docBytes) {
  const [code, name] = r.pick(CATEGORIES);
  const created = Date.UTC(2024, 0, 1) + r.int(0, 365 * 86400) * 1000;
  const photos = [];
  for (let p = r.int(1, 4); p > 0; p--) {
    photos.push(createHash('sha256').update(`photo-${i}-${p}-${r.next()}`).digest('hex'));
  }
  const doc = {
    _id: uuid4(r),
    type: 'case',
    category: code,
    description: `${name}：巡查发现，编号 ${r.int(0, 100000)}。`,
    address: `演示市${r.pick(DISTRICTS)}${r.pick(ROADS)}${r.int(1, 999)}号`,
    lat: 30.25 + r.int(0, 20000) / 1e6,
    lon: 120.15 + r.int(0, 40000) / 1e6,
    accuracy_m: r.int(3, 30),
    status: r.pick(STATUSES),
    reporter: `inspector${r.int(1, 6)}`,
    site_id: `s${r.int(1, 41)}`,
    created_at: new Date(created).toISOString(),
    updated_at: new Date(created + r.int(0, 7 * 86400) * 1000).toISOString(),
    photos,
  };
  // Pad the description (3 bytes per CJK character, then ASCII) up to docBytes of JSON.
  let missing = docBytes - Buffer.byteLength(JSON.stringify(doc));
  if (missing > 0) {
    const chars = Math.floor(missing / 3);
    let pad = FILLER.repeat(Math.ceil(chars / FILLER.length) + 1).slice(0, chars);
    pad += '.'.repeat(missing - chars * 3);
    doc.description += pad;
  }
  return doc;
}

// ---------------------------------------------------------------------------------------------
// Resources and cleanup

let tmp = null;
let server = null;
let serverTail = [];
const dbs = [];

function killServerSync() {
  if (server && server.exitCode === null && server.signalCode === null) {
    try {
      server.kill('SIGKILL');
    } catch {}
  }
}

function removeTmpSync() {
  if (tmp) {
    try {
      fs.rmSync(tmp, { recursive: true, force: true });
    } catch (e) {
      console.error(`pouchdb-peer: could not remove ${tmp}: ${e.message}`);
    }
    tmp = null;
  }
}

async function stopServer() {
  if (!server || server.exitCode !== null || server.signalCode !== null) return;
  const exited = new Promise((resolve) => server.once('exit', resolve));
  server.kill('SIGTERM');
  const timer = new Promise((resolve) => setTimeout(resolve, 5000, 'timeout'));
  if ((await Promise.race([exited, timer])) === 'timeout') {
    server.kill('SIGKILL');
    await exited;
  }
}

async function cleanup() {
  for (const db of dbs.splice(0)) {
    try {
      await db.close();
    } catch {}
  }
  try {
    await stopServer();
  } catch {}
  killServerSync();
  removeTmpSync();
}

// Last resort (uncaught errors, process.exit from elsewhere): synchronous only.
process.on('exit', () => {
  killServerSync();
  removeTmpSync();
});

let stopping = false;
for (const [sig, no] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]]) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    log(`${sig}: stopping`);
    const force = setTimeout(() => process.exit(128 + no), 8000);
    force.unref();
    cleanup().finally(() => process.exit(128 + no));
  });
}

// ---------------------------------------------------------------------------------------------
// Server

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startServer(req, dir) {
  const serverPkg = req.resolve('pouchdb-server/package.json');
  const bin = path.join(path.dirname(serverPkg), 'bin', 'pouchdb-server');
  const port = await freePort();
  const dataDir = path.join(dir, 'data');
  const config = path.join(dir, 'config.json');
  // Config, log file and databases all under `dir`, which is also the server's cwd.
  // Log level "warning": no per-request log line (CouchDB-style "info" logs every request).
  fs.writeFileSync(
    config,
    JSON.stringify({ log: { file: path.join(dir, 'log.txt'), level: 'warning' } }, null, 2),
  );
  // Preloaded into the server: it exits when this process goes away, even by SIGKILL (the IPC
  // channel closes), so an interrupted benchmark leaves no server behind.
  const watchdog = path.join(dir, 'watchdog.cjs');
  fs.writeFileSync(watchdog, "process.on('disconnect', () => process.exit(0));\n");
  const args = ['--require', watchdog, bin, '--port', String(port), '--host', '127.0.0.1',
    '--dir', dataDir, '--config', config, '--no-stdout-logs', '--no-color'];
  server = spawn(process.execPath, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  const keep = (chunk) => {
    serverTail.push(...chunk.toString().split('\n').filter(Boolean));
    if (serverTail.length > 40) serverTail = serverTail.slice(-40);
  };
  server.stdout.on('data', keep);
  server.stderr.on('data', keep);
  let exitInfo = null;
  server.once('exit', (code, signal) => {
    exitInfo = { code, signal };
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60000;
  for (;;) {
    if (exitInfo) {
      throw new Error(`pouchdb-server exited early (${JSON.stringify(exitInfo)}):\n  ` +
        serverTail.join('\n  '));
    }
    try {
      const res = await fetch(`${url}/`, { signal: AbortSignal.timeout(2000) });
      const body = await res.json();
      if (res.ok && body['express-pouchdb']) return { url, version: body.version };
    } catch {}
    if (Date.now() > deadline) throw new Error(`pouchdb-server did not answer on ${url} in 60 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// ---------------------------------------------------------------------------------------------
// Benchmark

async function docCount(db) {
  return (await db.info()).doc_count;
}

function expectCount(what, got, want) {
  if (got !== want) throw new Error(`${what}: ${got} docs, expected ${want}`);
}

async function main() {
  const { docs, docBytes, batch } = parseArgs(process.argv.slice(2));
  const cache =
    process.env.XUNCHA_POUCHDB_DIR ||
    path.join(process.env.XUNCHA_BENCH_CACHE || path.join(os.homedir(), '.cache', 'xuncha-bench'),
      'pouchdb');
  const req = createRequire(path.join(cache, 'package.json'));
  let PouchDB;
  try {
    PouchDB = req('pouchdb');
  } catch (e) {
    throw new Error(`cannot load pouchdb from ${cache} (run tests/bench/pouchdb-peer.sh): ` +
      e.message);
  }
  const versions = {
    pouchdb: req('pouchdb/package.json').version,
    server: req('pouchdb-server/package.json').version,
  };

  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xuncha-pouchdb-'));
  const serverDir = path.join(tmp, 'server');
  fs.mkdirSync(serverDir);
  log(`temp dir ${tmp}`);

  const { url } = await startServer(req, serverDir);
  log(`pouchdb-server ${versions.server} on ${url}`);

  // Source database, filled before timing.
  const local = new PouchDB(path.join(tmp, 'local'));
  dbs.push(local);
  const r = rng(7);
  let bytes = 0;
  const t0 = performance.now();
  for (let i = 0; i < docs; i += batch) {
    const chunk = [];
    for (let j = i; j < Math.min(docs, i + batch); j++) {
      const doc = makeDoc(r, j, docBytes);
      bytes += Buffer.byteLength(JSON.stringify(doc));
      chunk.push(doc);
    }
    const res = await local.bulkDocs(chunk);
    const bad = res.find((x) => x.error);
    if (bad) throw new Error(`bulkDocs failed: ${JSON.stringify(bad)}`);
  }
  expectCount('local source', await docCount(local), docs);
  const avgBytes = bytes / docs;
  if (avgBytes > docBytes + 0.5) {
    log(`warning: --doc-bytes ${docBytes} is below the unpadded doc size; docs average ` +
      `${avgBytes.toFixed(1)} bytes`);
  }
  log(`filled local db with ${docs} docs (${avgBytes.toFixed(1)} bytes of JSON each) in ` +
    `${((performance.now() - t0) / 1000).toFixed(1)} s`);

  // Create the remote database before timing (replicate would otherwise PUT it in the clock).
  const remoteUrl = `${url}/xuncha_cases`;
  const remote = new PouchDB(remoteUrl);
  dbs.push(remote);
  expectCount('remote before push', await docCount(remote), 0);

  // Push.
  let t = performance.now();
  const pushRes = await PouchDB.replicate(local, remoteUrl, { batch_size: batch });
  const pushS = (performance.now() - t) / 1000;
  if (!pushRes.ok || pushRes.docs_written !== docs) {
    throw new Error(`push: ok=${pushRes.ok} docs_written=${pushRes.docs_written} ` +
      `errors=${JSON.stringify(pushRes.errors).slice(0, 500)}`);
  }
  expectCount('remote after push', await docCount(remote), docs);
  log(`push: ${docs} docs in ${pushS.toFixed(2)} s`);

  // Bootstrap into a fresh, empty local database (created before timing).
  const fresh = new PouchDB(path.join(tmp, 'fresh'));
  dbs.push(fresh);
  expectCount('fresh before bootstrap', await docCount(fresh), 0);
  t = performance.now();
  const pullRes = await PouchDB.replicate(remoteUrl, fresh, { batch_size: batch });
  const pullS = (performance.now() - t) / 1000;
  if (!pullRes.ok || pullRes.docs_written !== docs) {
    throw new Error(`bootstrap: ok=${pullRes.ok} docs_written=${pullRes.docs_written} ` +
      `errors=${JSON.stringify(pullRes.errors).slice(0, 500)}`);
  }
  expectCount('fresh after bootstrap', await docCount(fresh), docs);
  log(`bootstrap: ${docs} docs in ${pullS.toFixed(2)} s`);

  console.log(
    `# pouchdb peer: pouchdb ${versions.pouchdb} (leveldb) -> pouchdb-server ${versions.server} ` +
      `(leveldb) on loopback, node ${process.version}, ${docs} docs of ${docBytes} bytes ` +
      `(avg ${avgBytes.toFixed(1)} bytes JSON), batch_size ${batch}; ` +
      `push ${pushS.toFixed(2)} s, bootstrap ${pullS.toFixed(2)} s`,
  );
  console.log(`pouchdb.push: ${(docs / pushS).toFixed(3)} docs/s`);
  console.log(`pouchdb.bootstrap: ${(docs / pullS).toFixed(3)} docs/s`);
}

let status = 0;
try {
  await main();
} catch (e) {
  status = e instanceof UsageError ? 2 : 1;
  log(`error: ${e instanceof UsageError ? e.message : e.stack || e}`);
  if (serverTail.length && !(e instanceof UsageError)) {
    log(`last pouchdb-server output:\n  ${serverTail.join('\n  ')}`);
  }
}
if (!stopping) {
  await cleanup();
  process.exit(status);
}
