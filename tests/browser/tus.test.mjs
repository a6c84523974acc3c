// A stock tus client — npm `tus-js-client`, unmodified, under Node — against a real
// `xuncha-server` process: discovery, a whole upload, a stop at half and a resume, a connection
// cut in the middle of a PATCH and a resume, and the protocol's refusals (412, 415, 404).
//
// XUNCHA_URL: the server; XUNCHA_PHONE: the simulated phone binary (it writes a real JPEG);
// XUNCHA_PHONES: a scratch folder.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import * as tus from 'tus-js-client';

const url = process.env.XUNCHA_URL;
const dir = process.env.XUNCHA_PHONES ?? '/tmp/xuncha-tus';
mkdirSync(dir, { recursive: true });

let failed = 0;
async function test(name, body) {
  const t0 = Date.now();
  try {
    await body();
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failed += 1;
    console.log(`FAIL ${name}\n${e.stack}`);
  }
}

/** A signed-in device: its bearer token (each device id is a new device). */
async function device(name) {
  const r = await fetch(`${url}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user_id: 'inspector1', password: 'demo', device_id: `tus-${name}-${Date.now()}` }),
  });
  const text = await r.text();
  assert.equal(r.status, 200, text);
  return JSON.parse(text).token;
}

/** A real JPEG the simulated phone draws, with bytes no other photo on the server has. */
function photo() {
  const out = `${dir}/tus-photo.jpg`;
  execFileSync(process.env.XUNCHA_PHONE, ['--server', url, '--dir', `${dir}/tus-phone`, '--user', 'inspector1', 'photo', '--out', out, '--seed', String(4000 + (Date.now() % 1000))]);
  const bytes = readFileSync(out);
  return { bytes, sha: createHash('sha256').update(bytes).digest('hex') };
}

/** Upload with tus-js-client; resolves with the upload when it succeeds. */
function upload(token, p, options = {}) {
  return new Promise((resolve, reject) => {
    const u = new tus.Upload(p.bytes, {
      endpoint: `${url}/v1/uploads`,
      headers: { Authorization: `Bearer ${token}` },
      metadata: { sha256: p.sha, filetype: 'image/jpeg', filename: 'photo.jpg' },
      retryDelays: [0, 100, 300, 1000],
      onError: reject,
      onSuccess: () => resolve(u),
      ...options,
    });
    u.start();
  });
}

/** A tus creation by hand: the photo's length, its SHA-256 in the metadata. */
function create(token) {
  return fetch(`${url}/v1/uploads`, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${token}`,
      'Tus-Resumable': '1.0.0',
      'Upload-Length': String(p.bytes.length),
      'Upload-Metadata': `sha256 ${Buffer.from(p.sha).toString('base64')}`,
    },
  });
}

async function head(token, sha) {
  const r = await fetch(`${url}/v1/uploads/${sha}`, {
    method: 'HEAD',
    headers: { Authorization: `Bearer ${token}`, 'Tus-Resumable': '1.0.0' },
  });
  return { status: r.status, offset: Number(r.headers.get('upload-offset')), length: Number(r.headers.get('upload-length')), headers: r.headers };
}

const p = photo();
assert.ok(p.bytes.length > 10_000, `a real photo: ${p.bytes.length} bytes`);

await test('discovery: OPTIONS names the version, the extensions and the size limit', async () => {
  const r = await fetch(`${url}/v1/uploads`, { method: 'OPTIONS' });
  assert.equal(r.status, 204);
  assert.equal(r.headers.get('tus-resumable'), '1.0.0');
  assert.equal(r.headers.get('tus-version'), '1.0.0');
  assert.ok(r.headers.get('tus-extension').split(',').includes('creation'));
  assert.ok(Number(r.headers.get('tus-max-size')) >= 10_000_000);
});

await test('a whole upload with the stock client; HEAD then says it is complete', async () => {
  const token = await device('whole');
  const u = await upload(token, p);
  assert.match(u.url, new RegExp(`/v1/uploads/${p.sha}$`), 'Location names the photo');
  const h = await head(token, p.sha);
  assert.equal(h.status, 200);
  assert.equal(h.offset, p.bytes.length);
  assert.equal(h.length, p.bytes.length);
  assert.equal(h.headers.get('cache-control'), 'no-store');
  assert.equal(h.headers.get('tus-resumable'), '1.0.0');
});

await test('stopped at half, resumed by the stock client from where the server got to', async () => {
  const token = await device('half');
  const chunk = Math.ceil(p.bytes.length / 4);
  let first;
  await new Promise((resolve, reject) => {
    first = new tus.Upload(p.bytes, {
      endpoint: `${url}/v1/uploads`,
      headers: { Authorization: `Bearer ${token}` },
      metadata: { sha256: p.sha },
      chunkSize: chunk,
      onError: reject,
      onSuccess: () => reject(new Error('should have stopped at half')),
      onChunkComplete: (_size, accepted) => {
        if (accepted >= 2 * chunk) {
          first.abort().then(resolve, reject);
        }
      },
    });
    first.start();
  });
  const half = await head(token, p.sha);
  assert.equal(half.offset, 2 * chunk, 'the server kept the first half');
  const offsets = [];
  await upload(token, p, { uploadUrl: first.url, onProgress: (sent) => offsets.push(sent) });
  assert.ok(offsets.length > 0 && offsets[0] > 2 * chunk - 1, `resumed, not restarted: ${offsets.slice(0, 3)}`);
  assert.equal((await head(token, p.sha)).offset, p.bytes.length);
});

await test('a connection cut in the middle of a PATCH: the bytes that came are kept, the stock client resumes', async () => {
  const token = await device('cut');
  const created = await create(token);
  assert.equal(created.status, 201);
  const location = new URL(created.headers.get('location'), url).href;
  // Half the body, then the link dies.
  const half = Math.floor(p.bytes.length / 2);
  await new Promise((resolve) => {
    const req = http.request(location, {
      method: 'PATCH',
      headers: {
        Authorization: `Bearer ${token}`,
        'Tus-Resumable': '1.0.0',
        'Upload-Offset': '0',
        'Content-Type': 'application/offset+octet-stream',
        'Content-Length': String(p.bytes.length),
      },
    });
    req.on('error', () => resolve());
    req.write(p.bytes.subarray(0, half), () => setTimeout(() => { req.destroy(); resolve(); }, 300));
  });
  // The server lets go as soon as it sees the connection close; wait for the kept bytes.
  let kept = 0;
  for (let i = 0; i < 50 && kept === 0; i += 1) {
    await new Promise((r) => setTimeout(r, 100));
    kept = (await head(token, p.sha)).offset;
  }
  assert.ok(kept > 0 && kept <= half, `kept ${kept} of the ${half} sent`);
  const offsets = [];
  await upload(token, p, { uploadUrl: location, onProgress: (sent) => offsets.push(sent) });
  assert.ok(offsets[0] >= kept, `went on from ${kept}: ${offsets.slice(0, 3)}`);
  assert.equal((await head(token, p.sha)).offset, p.bytes.length);
});

await test('refusals: a wrong version 412, a wrong content type 415, an unknown upload 404', async () => {
  const token = await device('bad');
  const wrong = await fetch(`${url}/v1/uploads`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Tus-Resumable': '0.2.2', 'Upload-Length': '10' },
  });
  assert.equal(wrong.status, 412);
  assert.equal(wrong.headers.get('tus-version'), '1.0.0');
  const created = await create(token);
  assert.equal(created.status, 201);
  const typed = await fetch(`${url}/v1/uploads/${p.sha}`, {
    method: 'PATCH',
    headers: { Authorization: `Bearer ${token}`, 'Tus-Resumable': '1.0.0', 'Upload-Offset': '0', 'Content-Type': 'application/json' },
    body: '{}',
  });
  assert.equal(typed.status, 415);
  assert.equal(typed.headers.get('tus-resumable'), '1.0.0');
  assert.equal((await head(token, p.sha)).offset, 0, 'nothing appended');
  const gone = await fetch(`${url}/v1/uploads/${p.sha}`, {
    method: 'DELETE',
    headers: { Authorization: `Bearer ${token}`, 'Tus-Resumable': '1.0.0' },
  });
  assert.equal(gone.status, 204, 'terminated');
  assert.equal((await head(token, p.sha)).status, 404, 'and gone');
  const noMeta = await fetch(`${url}/v1/uploads`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Tus-Resumable': '1.0.0', 'Upload-Length': '10' },
  });
  assert.equal(noMeta.status, 400, 'a creation without the sha256');
});

console.log(`${failed === 0 ? 'all passed' : `${failed} failed`}`);
process.exit(failed === 0 ? 0 : 1);
