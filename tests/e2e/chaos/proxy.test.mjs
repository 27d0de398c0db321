// The chaos proxy against a small counting upstream: `node --test tests/e2e/chaos/`.
// Faulted requests go through node:http with a fresh connection each (agent: false), so no client
// retries or connection reuse hide what the proxy did; raw sockets show the bytes where it matters.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

import { mulberry32, routeKey, startChaosProxy } from './proxy.mjs';

const PROXY_PATH = fileURLToPath(new URL('./proxy.mjs', import.meta.url));
const UUID_A = '0190c3a2-7b1e-7cc0-9d3a-2f1b5e8a9c01';
const UUID_B = '0190c3a2-7b1e-7cc0-9d3a-2f1b5e8a9c02';

/** A loopback server that records every complete request and every one cut off mid-body. */
async function startUpstream(t) {
  const hits = [];
  const state = { hits, aborted: 0, connections: 0 };
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('close', () => {
      if (!req.complete) state.aborted += 1;
    });
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      hits.push({ method: req.method, url: req.url, headers: req.headers, body });
      if (req.url.startsWith('/api/break')) {
        // Headers and a tenth of the promised body, then the connection goes: a broken answer.
        res.writeHead(200, { 'content-length': '100' });
        res.write(Buffer.alloc(10, 120));
        setTimeout(() => res.socket.destroy(), 20);
        return;
      }
      const status = Number(/\/status\/(\d{3})/.exec(req.url)?.[1] ?? 200);
      res.writeHead(status, {
        'content-type': 'application/octet-stream',
        'x-upstream-hit': String(hits.length),
        'x-seen-custom': req.headers['x-custom'] ?? '',
        'x-seen-transfer-encoding': req.headers['transfer-encoding'] ?? '',
        'set-cookie': ['a=1; Path=/', 'b=2; Path=/'],
      });
      res.end(body.length ? body : `${req.method} ${req.url}`);
    });
  });
  server.on('connection', () => (state.connections += 1));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  state.port = server.address().port;
  state.count = (method, url) => hits.filter((h) => h.method === method && h.url === url).length;
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return state;
}

/** Upstream plus a proxy in front of it, both closed when the test ends. */
async function setup(t) {
  const upstream = await startUpstream(t);
  const proxy = await startChaosProxy({ listen: '127.0.0.1:0', target: `127.0.0.1:${upstream.port}` });
  t.after(() => proxy.close());
  return { upstream, proxy, base: proxy.url };
}

async function setRules(base, rules) {
  const res = await fetch(`${base}/__chaos`, { method: 'POST', body: JSON.stringify(rules) });
  assert.equal(res.status, 200);
  return res.json();
}

async function stats(base) {
  const res = await fetch(`${base}/__chaos/stats`);
  assert.equal(res.status, 200);
  return res.json();
}

/**
 * One request on its own connection. Resolves { status, headers, rawHeaders, body, reused } or
 * rejects with the socket error the client saw. `chunks` are written one by one (chunked upload).
 */
function request(base, { method = 'GET', path = '/', headers = {}, body, chunks, agent = false } = {}) {
  return new Promise((resolve, reject) => {
    const url = new URL(path, base);
    const req = http.request(url, { method, headers, agent }, (res) => {
      const parts = [];
      res.on('data', (c) => parts.push(c));
      res.on('error', reject);
      res.on('end', () =>
        resolve({
          status: res.statusCode,
          headers: res.headers,
          rawHeaders: res.rawHeaders,
          body: Buffer.concat(parts),
          reused: req.reusedSocket,
        }),
      );
    });
    req.on('error', reject);
    for (const c of chunks ?? []) req.write(c);
    req.end(body);
  });
}

/** Whether a request succeeded ('ok') or its connection was lost ('lost'). */
async function outcome(base, options) {
  try {
    const res = await request(base, options);
    return res.status === 200 ? 'ok' : `status ${res.status}`;
  } catch {
    return 'lost';
  }
}

/** Writes raw bytes on a fresh connection and collects everything read until the proxy closes it. */
function rawExchange(port, text) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const parts = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('the proxy kept the connection open'));
    }, 5_000);
    socket.on('data', (c) => parts.push(c));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(parts));
    });
    socket.write(text);
  });
}

async function until(check, what, limitMs = 3_000) {
  const deadline = Date.now() + limitMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('passes method, path, query, headers and a 3 MB body through, and the answer back unchanged', async (t) => {
  const { upstream, base } = await setup(t);
  const photo = randomBytes(3 * 1024 * 1024);
  const res = await fetch(`${base}/api/v1/photos/status/201?draft=1&b=two`, {
    method: 'PUT',
    headers: { 'x-custom': 'kept', 'content-type': 'image/jpeg' },
    body: photo,
  });
  assert.equal(res.status, 201);
  assert.equal(res.headers.get('x-seen-custom'), 'kept');
  assert.equal(res.headers.get('content-type'), 'application/octet-stream');
  assert.deepEqual(res.headers.getSetCookie(), ['a=1; Path=/', 'b=2; Path=/']);
  const echoed = Buffer.from(await res.arrayBuffer());
  assert.equal(echoed.length, photo.length);
  assert.ok(echoed.equals(photo), 'the body came back byte for byte');
  assert.equal(upstream.hits.length, 1);
  const hit = upstream.hits[0];
  assert.equal(hit.method, 'PUT');
  assert.equal(hit.url, '/api/v1/photos/status/201?draft=1&b=two');
  assert.equal(hit.headers['content-type'], 'image/jpeg');
  assert.equal(hit.headers.host, new URL(base).host, 'the Host header is the one the browser sent');
  assert.equal(hit.headers['content-length'], String(photo.length));
  assert.equal(createHash('sha256').update(hit.body).digest('hex'), createHash('sha256').update(photo).digest('hex'));

  const notFound = await request(base, { path: '/status/404' });
  assert.equal(notFound.status, 404);
  assert.equal(notFound.body.toString(), 'GET /status/404');
});

test('streams chunked uploads and answers HEAD and GET without a body', async (t) => {
  const { upstream, base } = await setup(t);
  const chunks = [Buffer.from('first,'), Buffer.from('second,'), randomBytes(200_000)];
  const res = await request(base, { method: 'POST', path: '/api/v1/upload', chunks });
  assert.equal(res.status, 200);
  assert.ok(res.body.equals(Buffer.concat(chunks)));
  assert.equal(res.headers['x-seen-transfer-encoding'], 'chunked');
  assert.equal(upstream.hits[0].body.length, 6 + 7 + 200_000);

  const head = await request(base, { method: 'HEAD', path: '/api/v1/threads' });
  assert.equal(head.status, 200);
  assert.equal(head.body.length, 0);
  assert.equal(upstream.hits[1].method, 'HEAD');
  assert.equal(upstream.hits[1].body.length, 0);

  const get = await request(base, { path: '/api/v1/threads' });
  assert.equal(get.body.toString(), 'GET /api/v1/threads');
  assert.equal(upstream.hits[2].headers['content-length'], undefined);
  assert.equal(upstream.hits[2].headers['transfer-encoding'], undefined);
});

test('keeps connections alive towards the client and towards the server', async (t) => {
  const { upstream, base } = await setup(t);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => agent.destroy());
  const first = await request(base, { path: '/api/v1/one', agent });
  const second = await request(base, { path: '/api/v1/two', agent });
  const third = await request(base, { method: 'POST', path: '/api/v1/three', body: 'x', agent });
  assert.equal(first.reused, false);
  assert.equal(second.reused, true);
  assert.equal(third.reused, true);
  assert.equal(first.headers.connection, 'keep-alive');
  assert.equal(upstream.hits.length, 3);
  assert.equal(upstream.connections, 1, 'one upstream connection carried all three requests');
});

test('dropFirstPost: the server gets the first delivery of each distinct POST, the client gets nothing', async (t) => {
  const { upstream, base } = await setup(t);
  const reply = await setRules(base, { dropFirstPost: true });
  assert.deepEqual(reply.rules, { dropFirstPost: true, dropFirstGet: false, resetFraction: 0, delayMs: 0, seed: 1, only: '/api/' });

  const send = 'POST /api/v1/threads/t1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello';
  const bytes = await rawExchange(new URL(base).port, send);
  assert.equal(bytes.length, 0, 'not one byte of the answer reached the client');
  assert.equal(upstream.count('POST', '/api/v1/threads/t1/messages'), 1, 'the server did receive it');

  const again = await request(base, { method: 'POST', path: '/api/v1/threads/t1/messages', body: 'hello' });
  assert.equal(again.status, 200);
  assert.equal(again.body.toString(), 'hello');
  assert.equal(upstream.count('POST', '/api/v1/threads/t1/messages'), 2);

  const other = { method: 'POST', path: '/api/v1/threads/t1/messages', body: 'a different body' };
  await assert.rejects(request(base, other), { code: 'ECONNRESET' });
  assert.equal(upstream.count('POST', '/api/v1/threads/t1/messages'), 3);
  assert.equal((await request(base, other)).status, 200);
  assert.equal((await request(base, other)).status, 200, 'only the first delivery is lost');
  assert.equal(upstream.count('POST', '/api/v1/threads/t1/messages'), 5);

  const s = await stats(base);
  assert.equal(s.droppedResponses, 2);
  assert.equal(s.requests, 5);
  assert.equal(s.forwarded, 5);
  assert.equal(s.lostOnReusedConnection, 0);
  assert.equal(s.byRoute['POST /api/v1/threads/t1/messages'], 5);
});

test('dropFirstPost covers login and refresh, never a GET or a path outside only', async (t) => {
  const { upstream, base } = await setup(t);
  await setRules(base, { dropFirstPost: true });
  const login = { method: 'POST', path: '/api/v1/auth/login', body: '{"username":"patient1"}' };
  const refresh = { method: 'POST', path: '/api/v1/auth/refresh', body: '{"refreshToken":"r1"}' };
  assert.equal(await outcome(base, login), 'lost');
  assert.equal(await outcome(base, login), 'ok');
  assert.equal(await outcome(base, refresh), 'lost');
  assert.equal(await outcome(base, refresh), 'ok');
  assert.equal(upstream.count('POST', '/api/v1/auth/login'), 2);
  assert.equal(upstream.count('POST', '/api/v1/auth/refresh'), 2);

  for (let i = 0; i < 3; i += 1) assert.equal(await outcome(base, { path: '/api/v1/threads' }), 'ok');
  assert.equal(await outcome(base, { method: 'POST', path: '/__test/faults', body: '{}' }), 'ok');
  assert.equal(await outcome(base, { method: 'POST', path: '/v1/documents/render-jobs', body: '{}' }), 'ok');

  await setRules(base, { dropFirstPost: true, only: '/v1/' });
  assert.equal(await outcome(base, { method: 'POST', path: '/v1/documents/render-jobs', body: '{}' }), 'lost');
  assert.equal(await outcome(base, login), 'ok', 'login is outside only now');

  const s = await stats(base);
  assert.equal(s.droppedResponses, 3);
  assert.equal(s.loginRequests, 3);
  assert.equal(s.refreshRequests, 2);
});

test('dropFirstGet: the first delivery of each GET (path and query) is lost, later ones and POSTs pass', async (t) => {
  const { upstream, base } = await setup(t);
  const reply = await setRules(base, { dropFirstGet: true });
  assert.equal(reply.rules.dropFirstGet, true);
  assert.equal(reply.rules.dropFirstPost, false);
  const read = { path: '/api/v1/threads/t1/messages' };
  assert.equal(await outcome(base, read), 'lost');
  assert.equal(await outcome(base, read), 'ok');
  assert.equal(await outcome(base, { path: '/api/v1/threads/t1/messages?after=2' }), 'lost', 'another query is another read');
  assert.equal(await outcome(base, { method: 'POST', path: '/api/v1/threads/t1/messages', body: 'x' }), 'ok');
  assert.equal(await outcome(base, { path: '/index.html' }), 'ok', 'outside only');
  assert.equal(upstream.count('GET', '/api/v1/threads/t1/messages'), 2, 'the server saw the lost read too');

  await setRules(base, { dropFirstGet: true });
  assert.equal(await outcome(base, read), 'lost', 'new rules forget what was seen');
  const s = await stats(base);
  assert.equal(s.droppedResponses, 3);
});

test('resetFraction 1 resets every request under only, before and after the server; 0 resets none', async (t) => {
  const { upstream, base } = await setup(t);
  await setRules(base, { resetFraction: 1 });
  const results = [];
  for (let i = 0; i < 20; i += 1) {
    const method = i % 2 ? 'POST' : 'GET';
    results.push(await outcome(base, { method, path: `/api/v1/items/${i}`, body: i % 2 ? `n${i}` : undefined }));
  }
  assert.deepEqual(results, Array(20).fill('lost'));
  assert.equal(await outcome(base, { path: '/index.html' }), 'ok', 'outside only passes');

  let s = await stats(base);
  assert.equal(s.resetBeforeServer + s.resetAfterServer, 20);
  const random = mulberry32(1);
  const before = Array.from({ length: 20 }, () => random()).filter((r) => r < 0.5).length;
  assert.equal(s.resetBeforeServer, before);
  assert.equal(s.resetAfterServer, 20 - before);
  assert.ok(before > 0 && before < 20, 'both kinds happen');
  const apiHits = upstream.hits.filter((h) => h.url.startsWith('/api/')).length;
  assert.equal(apiHits, s.resetAfterServer, 'the server saw exactly the requests reset after it');
  assert.equal(s.forwarded, s.resetAfterServer + 1);

  await setRules(base, { resetFraction: 0 });
  for (let i = 0; i < 10; i += 1) assert.equal(await outcome(base, { path: `/api/v1/items/${i}` }), 'ok');
  s = await stats(base);
  assert.equal(s.resetBeforeServer + s.resetAfterServer, 20, 'no new resets');
});

test('resetFraction 0.5 with a fixed seed resets the same requests on every run', async (t) => {
  const { upstream, base } = await setup(t);
  const run = async () => {
    await setRules(base, { resetFraction: 0.5, seed: 7 });
    const results = [];
    for (let i = 0; i < 40; i += 1) results.push(await outcome(base, { path: `/api/v1/things/${i}` }));
    const s = await stats(base);
    await fetch(`${base}/__chaos`, { method: 'DELETE' });
    return { results, before: s.resetBeforeServer, after: s.resetAfterServer };
  };
  const first = await run();
  const hitsAfterFirst = upstream.hits.length;
  const second = await run();
  assert.deepEqual(second, first);
  assert.equal(upstream.hits.length - hitsAfterFirst, hitsAfterFirst);

  const random = mulberry32(7);
  const draws = Array.from({ length: 40 }, () => random());
  assert.equal(first.before, draws.filter((r) => r < 0.25).length);
  assert.equal(first.after, draws.filter((r) => r >= 0.25 && r < 0.5).length);
  assert.equal(first.results.filter((r) => r === 'lost').length, first.before + first.after);
  assert.ok(first.before > 0 && first.after > 0 && first.before + first.after < 40);
  assert.equal(hitsAfterFirst, 40 - first.before);

  await setRules(base, { resetFraction: 0.5, seed: 8 });
  const other = [];
  for (let i = 0; i < 40; i += 1) other.push(await outcome(base, { path: `/api/v1/things/${i}` }));
  assert.notDeepEqual(other, first.results, 'another seed gives another pattern');
});

test('delayMs holds each response under only for at least that long', async (t) => {
  const { base } = await setup(t);
  const agent = new http.Agent({ keepAlive: true });
  t.after(() => agent.destroy());
  await setRules(base, { delayMs: 300 });
  let started = performance.now();
  const slow = await fetch(`${base}/api/v1/threads`);
  assert.equal(await slow.text(), 'GET /api/v1/threads');
  const slowMs = performance.now() - started;
  assert.ok(slowMs >= 300, `took ${slowMs} ms`);

  started = performance.now();
  const posted = await request(base, { method: 'POST', path: '/api/v1/read', body: 'x', agent });
  assert.equal(posted.status, 200);
  assert.ok(performance.now() - started >= 300);

  started = performance.now();
  await (await fetch(`${base}/index.html`)).text();
  const fastMs = performance.now() - started;
  assert.ok(fastMs < 300, `outside only took ${fastMs} ms`);

  const s = await stats(base);
  assert.equal(s.delayedResponses, 2);
  assert.equal(posted.headers.connection, 'keep-alive', 'a delay alone keeps connections alive');
});

test('stats count requests, routes with ids as *, logins and refresh times', async (t) => {
  const { base } = await setup(t);
  assert.equal(routeKey('GET', `/api/v1/threads/${UUID_A}/messages`), 'GET /api/v1/threads/*/messages');
  assert.equal(routeKey('GET', '/api/v1/threads/0190C3A27B1E7CC09D3A2F1B5E8A9C01'), 'GET /api/v1/threads/*');
  assert.equal(routeKey('PUT', '/api/v1/facility/beds/12/status'), 'PUT /api/v1/facility/beds/*/status');
  assert.equal(routeKey('GET', '/api/v1/beds/b12'), 'GET /api/v1/beds/b12');

  const t0 = Date.now();
  await request(base, { path: `/api/v1/threads/${UUID_A}/messages?since=5` });
  await request(base, { path: `/api/v1/threads/${UUID_B}/messages` });
  await request(base, { method: 'PUT', path: '/api/v1/facility/beds/12/status', body: '{}' });
  await request(base, { method: 'PUT', path: '/api/v1/facility/beds/340/status', body: '{}' });
  await request(base, { method: 'POST', path: '/api/v1/auth/login', body: '{}' });
  for (let i = 0; i < 3; i += 1) {
    await request(base, { method: 'POST', path: '/api/v1/auth/refresh', body: `{"n":${i}}` });
  }
  await request(base, { path: '/api/v1/auth/refresh' });
  await request(base, { path: '/' });
  const t1 = Date.now();

  const s = await stats(base);
  assert.deepEqual(s.byRoute, {
    'GET /api/v1/threads/*/messages': 2,
    'PUT /api/v1/facility/beds/*/status': 2,
    'POST /api/v1/auth/login': 1,
    'POST /api/v1/auth/refresh': 3,
    'GET /api/v1/auth/refresh': 1,
    'GET /': 1,
  });
  assert.equal(s.requests, 10);
  assert.equal(s.forwarded, 10);
  assert.equal(s.loginRequests, 1);
  assert.equal(s.refreshRequests, 3, 'only POSTs count as refreshes');
  assert.equal(s.refreshTimes.length, 3);
  assert.ok(s.refreshTimes.every((ms, i) => ms >= t0 && ms <= t1 && (i === 0 || ms >= s.refreshTimes[i - 1])));
  for (const zero of ['droppedResponses', 'resetBeforeServer', 'resetAfterServer', 'upstreamErrors']) {
    assert.equal(s[zero], 0, zero);
  }
  assert.equal(s.rules, null);
});

test('DELETE /__chaos clears the rules and every counter', async (t) => {
  const { upstream, base } = await setup(t);
  await setRules(base, { dropFirstPost: true, delayMs: 10 });
  const post = { method: 'POST', path: '/api/v1/read', body: 'same' };
  assert.equal(await outcome(base, post), 'lost');
  await request(base, { method: 'POST', path: '/api/v1/auth/refresh', body: 'r' }).catch(() => {});
  let s = await stats(base);
  assert.equal(s.requests, 2);
  assert.equal(s.droppedResponses, 2);

  const cleared = await fetch(`${base}/__chaos`, { method: 'DELETE' });
  assert.equal(cleared.status, 204);
  s = await stats(base);
  assert.deepEqual(s, {
    requests: 0,
    forwarded: 0,
    droppedResponses: 0,
    resetBeforeServer: 0,
    resetAfterServer: 0,
    delayedResponses: 0,
    upstreamErrors: 0,
    upstreamAborts: 0,
    lostOnReusedConnection: 0,
    loginRequests: 0,
    refreshRequests: 0,
    refreshTimes: [],
    byRoute: {},
    rules: null,
  });
  assert.deepEqual(await (await fetch(`${base}/__chaos`)).json(), { rules: null });
  assert.equal(await outcome(base, { method: 'POST', path: '/api/v1/read', body: 'new body' }), 'ok');
  assert.equal(upstream.count('POST', '/api/v1/read'), 2);
  assert.equal((await stats(base)).requests, 1);
});

test('the control API rejects bad rules and is never forwarded', async (t) => {
  const { upstream, base } = await setup(t);
  const bad = [
    ['{"resetFraction":2}', /resetFraction/],
    ['{"resetFraction":"half"}', /resetFraction/],
    ['{"delayMs":-1}', /delayMs/],
    ['{"dropFirstPost":"yes"}', /dropFirstPost/],
    ['{"dropFirstGet":1}', /dropFirstGet/],
    ['{"seed":1.5}', /seed/],
    ['{"only":"api"}', /only/],
    ['{"dropFirstPosts":true}', /unknown rule/],
    ['[1]', /object/],
    ['{not json', /JSON/],
  ];
  for (const [body, message] of bad) {
    const res = await fetch(`${base}/__chaos`, { method: 'POST', body });
    assert.equal(res.status, 400, body);
    assert.match((await res.json()).error, message);
  }
  assert.equal((await fetch(`${base}/__chaos`, { method: 'PUT', body: '{}' })).status, 405);
  assert.equal((await fetch(`${base}/__chaos/nothing`)).status, 404);
  assert.equal((await setRules(base, {})).rules.only, '/api/');
  assert.equal(upstream.hits.length, 0);
  assert.equal((await stats(base)).requests, 0, 'control requests are not counted');
});

test('an unreachable server answers 502 and counts upstreamErrors', async (t) => {
  const closed = net.createServer().listen(0, '127.0.0.1');
  await once(closed, 'listening');
  const port = closed.address().port;
  await new Promise((r) => closed.close(r));
  const proxy = await startChaosProxy({ listen: '127.0.0.1:0', target: `127.0.0.1:${port}` });
  t.after(() => proxy.close());
  const res = await request(proxy.url, { method: 'POST', path: '/api/v1/read', body: 'x'.repeat(100_000) });
  assert.equal(res.status, 502);
  assert.match(JSON.parse(res.body).error, /ECONNREFUSED/);
  assert.equal((await request(proxy.url, { path: '/' })).status, 502);
  const s = await stats(proxy.url);
  assert.equal(s.upstreamErrors, 2);
  assert.equal(s.forwarded, 2);
});

test('a body the server breaks off reaches the client broken; a client abort does not hurt the proxy', async (t) => {
  const { upstream, base } = await setup(t);
  await assert.rejects(request(base, { path: '/api/break' }), { code: 'ECONNRESET' });
  assert.equal((await stats(base)).upstreamAborts, 1);

  const socket = net.connect(new URL(base).port, '127.0.0.1');
  socket.on('error', () => {});
  socket.write('POST /api/v1/photos HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n');
  socket.write(Buffer.alloc(1000, 1));
  await until(() => upstream.connections === 2, 'the upload to reach the server');
  socket.destroy();
  await until(() => upstream.aborted === 1, 'the server to see the upload cut off');

  const garbage = await rawExchange(new URL(base).port, 'NOT HTTP AT ALL\r\n\r\n');
  assert.match(garbage.toString(), /^HTTP\/1\.1 400/);
  const after = await request(base, { path: '/api/v1/threads' });
  assert.equal(after.status, 200, 'the proxy still serves');
  assert.equal(upstream.hits.filter((h) => h.url === '/api/v1/photos').length, 0);
  const s = await stats(base);
  assert.equal(s.upstreamAborts, 1, 'a client that went away is not a server abort');
});

test('lossy rules close each connection after its response; idle ones are closed when rules change', async (t) => {
  const { base } = await setup(t);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => agent.destroy());
  const warm = await request(base, { path: '/api/v1/threads', agent });
  assert.equal(warm.headers.connection, 'keep-alive');
  const idle = agent.freeSockets[Object.keys(agent.freeSockets)[0]][0];
  const idleClosed = once(idle, 'close');
  await setRules(base, { resetFraction: 0.0001 });
  await idleClosed;

  const first = await request(base, { path: '/api/v1/threads', agent });
  const second = await request(base, { path: '/index.html', agent });
  assert.equal(first.reused, false);
  assert.equal(first.headers.connection, 'close');
  assert.equal(second.reused, false, 'no request rides on a connection that already carried one');
  assert.equal(second.headers.connection, 'close');
  assert.equal((await stats(base)).lostOnReusedConnection, 0);
});

test('runs as a CLI: prints its URL, proxies, refuses non-loopback, exits 0 on SIGTERM', async (t) => {
  const upstream = await startUpstream(t);
  const child = spawn(process.execPath, [PROXY_PATH, '--listen', '127.0.0.1:0', '--target', `127.0.0.1:${upstream.port}`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d) => (out += d));
  await until(() => out.includes('\n'), 'the ready line', 10_000);
  const match = /^chaos proxy listening on (http:\/\/127\.0\.0\.1:(\d+))\n$/.exec(out);
  assert.ok(match, `ready line: ${JSON.stringify(out)}`);
  assert.ok(Number(match[2]) > 0);
  const res = await request(match[1], { path: '/api/v1/threads' });
  assert.equal(res.body.toString(), 'GET /api/v1/threads');
  assert.equal(upstream.hits.length, 1);

  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const [code, signal] = await exited;
  assert.equal(code, 0);
  assert.equal(signal, null);

  const refused = spawn(process.execPath, [PROXY_PATH, '--listen', '0.0.0.0:0', '--target', '127.0.0.1:1'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  refused.stderr.on('data', (d) => (err += d));
  const [refusedCode] = await once(refused, 'exit');
  assert.equal(refusedCode, 2);
  assert.match(err, /only binds loopback/);
});
