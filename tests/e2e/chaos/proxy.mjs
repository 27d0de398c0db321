// A loopback chaos proxy for the end-to-end tier: an HTTP/1.1 reverse proxy between Chromium and
// the reference server that loses answers, resets connections and delays responses on demand.
//
// Library: `startChaosProxy({ listen: '127.0.0.1:0', target: '127.0.0.1:8080' })` → `{ url, close() }`.
// CLI:     `node tests/e2e/chaos/proxy.mjs --listen 127.0.0.1:0 --target 127.0.0.1:8080` prints
//          `chaos proxy listening on http://127.0.0.1:PORT` once ready; SIGTERM/SIGINT stop it.
//
// Control API, answered by the proxy itself and never forwarded or counted:
//   POST   /__chaos        JSON { dropFirstPost?, dropFirstGet?, resetFraction?, delayMs?, seed?, only? }
//                          replaces the rules → 200 { rules }, or 400 { error }. It re-seeds the PRNG
//                          and forgets which requests were seen; the counters stay.
//   GET    /__chaos        200 { rules } (null when none)
//   DELETE /__chaos        clears the rules and every counter → 204
//   GET    /__chaos/stats  200 { requests, forwarded, droppedResponses, resetBeforeServer,
//                          resetAfterServer, delayedResponses, upstreamErrors, upstreamAborts,
//                          lostOnReusedConnection, loginRequests, refreshRequests, refreshTimes,
//                          byRoute, rules }
//
// Faults apply to paths starting with `only` (default "/api/"); counters cover every request.
// - resetFraction: each request draws from a seeded mulberry32; below fraction/2 it is reset before
//   the server sees it, below the fraction after the server answered (the answer is lost).
// - dropFirstPost: the first delivery of each POST key (method, path with query, SHA-256 of the
//   body) that reaches the server and is not already reset loses its whole answer: the proxy reads
//   it, then closes the client connection without writing a byte. Later deliveries pass.
// - dropFirstGet: the same for reads: the first delivery of each GET (path with query) loses its
//   answer, so every read the app makes must survive one loss.
// - delayMs: every answer is held that long before it is written (or lost).
// A server that breaks its connection mid-answer (its own drop_after_commit fault) breaks the
// client's connection the same way (upstreamAborts); an unreachable server gives 502 (upstreamErrors).
//
// While a lossy rule (dropFirstPost, dropFirstGet or resetFraction > 0) is in force every proxied response carries
// `Connection: close`, and idle client connections are closed when rules change. Chromium silently
// re-sends any request (POST included) whose reused keep-alive connection dies before the response
// headers arrive; one request per connection keeps each injected loss visible to the app.
// `lostOnReusedConnection` counts the losses that still landed on a reused connection.

import { createHash } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { pathToFileURL } from 'node:url';

const CONTROL = '/__chaos';
const MAX_RULES_BODY = 64 * 1024;
const UPSTREAM_IDLE_MS = 4_000;
const RULE_KEYS = new Set(['dropFirstPost', 'dropFirstGet', 'resetFraction', 'delayMs', 'seed', 'only']);
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
]);
const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** A seeded PRNG (mulberry32): the same seed gives the same sequence in [0, 1). */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** "METHOD /path" with uuid-like and numeric segments replaced by `*`; the query is dropped. */
export function routeKey(method, path) {
  const segments = path.split('/').map((s) => (UUID.test(s) || /^\d+$/.test(s) ? '*' : s));
  return `${method} ${segments.join('/')}`;
}

/** Checks a rules document and fills in the defaults; throws a message for a 400 otherwise. */
export function parseRules(doc) {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new Error('rules must be a JSON object');
  }
  for (const key of Object.keys(doc)) {
    if (!RULE_KEYS.has(key)) throw new Error(`unknown rule ${JSON.stringify(key)}`);
  }
  const { dropFirstPost = false, dropFirstGet = false, resetFraction = 0, delayMs = 0, seed = 1, only = '/api/' } = doc;
  if (typeof dropFirstPost !== 'boolean') throw new Error('dropFirstPost must be a boolean');
  if (typeof dropFirstGet !== 'boolean') throw new Error('dropFirstGet must be a boolean');
  if (typeof resetFraction !== 'number' || !(resetFraction >= 0 && resetFraction <= 1)) {
    throw new Error('resetFraction must be a number from 0 to 1');
  }
  if (typeof delayMs !== 'number' || !(delayMs >= 0 && delayMs <= 600_000)) {
    throw new Error('delayMs must be a number of milliseconds from 0 to 600000');
  }
  if (!Number.isInteger(seed)) throw new Error('seed must be an integer');
  if (typeof only !== 'string' || !only.startsWith('/')) {
    throw new Error('only must be a path prefix starting with "/"');
  }
  return { dropFirstPost, dropFirstGet, resetFraction, delayMs, seed, only };
}

function freshCounters() {
  return {
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
  };
}

function hostPort(text, what) {
  const at = typeof text === 'string' ? text.lastIndexOf(':') : -1;
  const host = at > 0 ? text.slice(0, at).replace(/^\[(.*)\]$/, '$1') : '';
  const port = at > 0 ? Number(text.slice(at + 1)) : NaN;
  if (!host || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`${what} must look like host:port, got ${JSON.stringify(text)}`);
  }
  return { host, port };
}

function isLoopback(host) {
  if (host === 'localhost') return true;
  if (net.isIPv4(host)) return host.startsWith('127.');
  return net.isIPv6(host) && (host === '::1' || host === '0:0:0:0:0:0:0:1');
}

/** Raw headers minus hop-by-hop ones (and any the Connection header names), in order. */
function endToEnd(raw, extra = []) {
  const named = new Set();
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].toLowerCase() === 'connection') {
      for (const token of raw[i + 1].split(',')) named.add(token.trim().toLowerCase());
    }
  }
  const out = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (!HOP_BY_HOP.has(name) && !named.has(name)) out.push(raw[i], raw[i + 1]);
  }
  return out.concat(extra);
}

function makeLogger(stream) {
  const seen = new Set();
  return (where, err) => {
    const kind = `${where}: ${err?.code ?? err?.name ?? 'error'}`;
    if (seen.has(kind)) return;
    seen.add(kind);
    stream.write(`chaos proxy: ${kind} (${err?.message ?? err}); further ones are not logged\n`);
  };
}

/** Ends a client connection abruptly: a TCP reset where the platform allows, else a close. */
function resetSocket(socket) {
  if (!socket || socket.destroyed) return;
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}

function sendJson(res, status, value, close = false) {
  const body = value === undefined ? '' : JSON.stringify(value);
  const headers = { 'cache-control': 'no-store' };
  if (body) headers['content-type'] = 'application/json';
  if (close) headers.connection = 'close';
  res.writeHead(status, headers);
  res.end(body);
}

function readSmallBody(req, limit, done) {
  const chunks = [];
  let size = 0;
  req.on('data', (c) => {
    size += c.length;
    if (size <= limit) chunks.push(c);
  });
  req.on('end', () => done(size > limit ? null : Buffer.concat(chunks).toString('utf8')));
}

/** The proxy's mutable state: rules, counters, the PRNG and the request keys already seen. */
class Chaos {
  constructor() {
    this.clear();
  }

  clear() {
    this.rules = null;
    this.counters = freshCounters();
    this.random = mulberry32(1);
    this.seen = new Set();
  }

  setRules(rules) {
    this.rules = rules;
    this.random = mulberry32(rules.seed);
    this.seen = new Set();
  }

  get lossy() {
    const r = this.rules;
    return Boolean(r && (r.dropFirstPost || r.dropFirstGet || r.resetFraction > 0));
  }

  /** Counts one proxied request; returns the rules that apply to it, or null. */
  note(method, path) {
    const c = this.counters;
    c.requests += 1;
    const route = routeKey(method, path);
    c.byRoute[route] = (c.byRoute[route] ?? 0) + 1;
    if (method === 'POST' && path === '/api/v1/auth/login') c.loginRequests += 1;
    if (method === 'POST' && path === '/api/v1/auth/refresh') {
      c.refreshRequests += 1;
      c.refreshTimes.push(Date.now());
    }
    return this.rules && path.startsWith(this.rules.only) ? this.rules : null;
  }

  /** 'before', 'after' or null: whether this request is reset, drawn from the seeded PRNG. */
  drawReset(rules) {
    if (!rules || rules.resetFraction <= 0) return null;
    const r = this.random();
    if (r >= rules.resetFraction) return null;
    return r < rules.resetFraction / 2 ? 'before' : 'after';
  }

  /** True the first time a request with this key (method, path and body) reaches the server. */
  firstDelivery(key) {
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    return true;
  }

  stats() {
    return { ...this.counters, rules: this.rules };
  }
}

export async function startChaosProxy({ listen = '127.0.0.1:0', target, stderr = process.stderr } = {}) {
  const bind = hostPort(listen, 'listen');
  if (!isLoopback(bind.host)) throw new Error(`the chaos proxy only binds loopback, not ${bind.host}`);
  const upstream = hostPort(target, 'target');
  const log = makeLogger(stderr);
  const chaos = new Chaos();
  const agent = new http.Agent({ keepAlive: true, timeout: UPSTREAM_IDLE_MS });
  const timers = new Set();
  const perSocket = new WeakMap();
  let server;

  const later = (ms, fn) => {
    if (!(ms > 0)) return fn();
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  function control(req, res, path) {
    if (path === `${CONTROL}/stats` && req.method === 'GET') return sendJson(res, 200, chaos.stats());
    if (path !== CONTROL) return sendJson(res, 404, { error: `no control endpoint ${path}` });
    if (req.method === 'GET') return sendJson(res, 200, { rules: chaos.rules });
    if (req.method === 'DELETE') {
      chaos.clear();
      return sendJson(res, 204);
    }
    if (req.method !== 'POST') return sendJson(res, 405, { error: 'use GET, POST or DELETE' });
    readSmallBody(req, MAX_RULES_BODY, (text) => {
      let rules;
      try {
        if (text === null) throw new Error('rules body too large');
        rules = parseRules(JSON.parse(text || '{}'));
      } catch (err) {
        return sendJson(res, 400, { error: err.message });
      }
      chaos.setRules(rules);
      // Connections kept alive from before must not carry a request the new rules lose.
      if (chaos.lossy) server.closeIdleConnections();
      sendJson(res, 200, { rules });
    });
  }

  /** A loss after the server answered: counts it and ends the client connection. */
  function lose(kind, req, reused) {
    const c = chaos.counters;
    if (kind === 'drop') c.droppedResponses += 1;
    else c.resetAfterServer += 1;
    if (reused) c.lostOnReusedConnection += 1;
    if (kind === 'drop') req.socket.destroy();
    else resetSocket(req.socket);
  }

  /** Writes the upstream answer to the client; a body the server broke off breaks the client's too. */
  function relay(ctx, ures) {
    const { res } = ctx;
    if (res.destroyed || !res.socket || res.socket.destroyed) return ures.destroy();
    const extra = chaos.lossy ? ['Connection', 'close'] : [];
    try {
      res.writeHead(ures.statusCode, ures.statusMessage, endToEnd(ures.rawHeaders, extra));
    } catch (err) {
      log('writing response head', err);
      return res.socket.destroy();
    }
    ctx.relaying = true;
    if (ctx.broken) {
      res.flushHeaders();
      return res.socket.destroySoon();
    }
    ures.pipe(res);
  }

  /** Decides what becomes of the upstream answer: dropped, reset, delayed or relayed. */
  function answer(ctx, ures) {
    const { req, res, rules, reset, reused } = ctx;
    const delay = rules?.delayMs ?? 0;
    if (delay > 0) chaos.counters.delayedResponses += 1;
    ures.on('error', (err) => log('upstream response', err));
    ures.once('end', () => (ctx.upstreamDone = true));
    ures.once('close', () => {
      if (ures.complete) return;
      // The server broke the body off (or the client went away): the client's body breaks too.
      ctx.broken = true;
      if (!ctx.clientGone) chaos.counters.upstreamAborts += 1;
      if (ctx.relaying) res.socket?.destroySoon();
    });
    // Reads the whole answer (the server has committed), then loses it.
    const swallowThen = (kind) => {
      const done = () => later(delay, () => lose(kind, req, reused));
      if (ures.destroyed) return done();
      ures.once('close', done);
      ures.resume();
    };
    if (reset === 'after') return swallowThen('reset');
    const dropsFirst = (rules?.dropFirstPost && req.method === 'POST') || (rules?.dropFirstGet && req.method === 'GET');
    if (dropsFirst) {
      ures.pause();
      return ctx.bodyKey((key) => {
        if (key !== null && chaos.firstDelivery(key)) return swallowThen('drop');
        later(delay, () => relay(ctx, ures));
      });
    }
    later(delay, () => relay(ctx, ures));
  }

  function upstreamFailed(ctx, err, connected) {
    const { res, req } = ctx;
    if (!connected) {
      chaos.counters.upstreamErrors += 1;
      log('upstream connect', err);
      if (res.headersSent || res.destroyed) return req.socket.destroy();
      req.unpipe();
      req.resume();
      const error = `chaos proxy: upstream ${target} unreachable: ${err.code ?? err.message}`;
      return later(ctx.rules?.delayMs ?? 0, () => sendJson(res, 502, { error }, chaos.lossy));
    }
    // The server dropped the connection before answering: the client sees the same.
    chaos.counters.upstreamAborts += 1;
    resetSocket(req.socket);
  }

  function forward(ctx) {
    const { req, res } = ctx;
    // The key of a delivery: method, path (with its query) and the SHA-256 of the body.
    const hash = createHash('sha256');
    let key;
    let waiting = null;
    req.on('data', (chunk) => hash.update(chunk));
    req.on('end', () => {
      key = `${req.method} ${req.url} ${hash.digest('hex')}`;
      waiting?.(key);
    });
    req.on('close', () => key === undefined && waiting?.(null));
    ctx.bodyKey = (cb) => (key === undefined ? (waiting = cb) : cb(key));
    chaos.counters.forwarded += 1;
    const up = http.request({
      host: upstream.host,
      port: upstream.port,
      method: req.method,
      path: req.url,
      headers: endToEnd(req.rawHeaders),
      setHost: false,
      agent,
    });
    let connected = false;
    let answered = false;
    up.on('socket', (s) => {
      if (!s.connecting) connected = true;
      else s.once('connect', () => (connected = true));
    });
    up.on('response', (ures) => {
      answered = true;
      answer(ctx, ures);
    });
    up.on('error', (err) => {
      if (ctx.clientGone) return;
      if (!answered) upstreamFailed(ctx, err, connected);
      else log('upstream request', err);
    });
    res.on('close', () => {
      if (ctx.upstreamDone || res.writableFinished) return;
      ctx.clientGone = true;
      up.destroy();
    });
    req.pipe(up);
  }

  function handle(req, res) {
    req.on('error', (err) => log('client request', err));
    res.on('error', (err) => log('client response', err));
    const path = (req.url ?? '/').split('?')[0];
    if (path === CONTROL || path.startsWith(`${CONTROL}/`)) return control(req, res, path);
    const served = (perSocket.get(req.socket) ?? 0) + 1;
    perSocket.set(req.socket, served);
    const rules = chaos.note(req.method, path);
    const reset = chaos.drawReset(rules);
    if (reset === 'before') {
      chaos.counters.resetBeforeServer += 1;
      if (served > 1) chaos.counters.lostOnReusedConnection += 1;
      return resetSocket(req.socket);
    }
    forward({ req, res, rules, reset, reused: served > 1, upstreamDone: false });
  }

  server = http.createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
    try {
      handle(req, res);
    } catch (err) {
      log('handler', err);
      req.socket.destroy();
    }
  });
  server.on('clientError', (err, socket) => {
    if (err.code !== 'ECONNRESET') log('client connection', err);
    if (socket.writable && !socket.bytesWritten) {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    }
    socket.destroy();
  });
  server.on('error', (err) => log('server', err));

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(bind.port, bind.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { address, port } = server.address();
  const shown = net.isIPv6(address) ? `[${address}]` : address;
  let closing = null;
  return {
    url: `http://${shown}:${port}`,
    port,
    close() {
      closing ??= new Promise((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      });
      return closing;
    },
  };
}

function cliArgs(argv) {
  const args = { listen: '127.0.0.1:0', target: '127.0.0.1:8080' };
  for (let i = 0; i < argv.length; i += 1) {
    const [flag, inline] = argv[i].split(/=(.*)/s, 2);
    if (flag !== '--listen' && flag !== '--target') throw new Error(`unknown argument ${argv[i]}`);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a host:port`);
    args[flag.slice(2)] = value;
  }
  return args;
}

async function main() {
  let proxy;
  try {
    proxy = await startChaosProxy(cliArgs(process.argv.slice(2)));
  } catch (err) {
    process.stderr.write(`chaos proxy: ${err.message}\n`);
    process.exit(2);
  }
  // A test proxy keeps serving whatever one connection did; the error is logged once per kind.
  const log = makeLogger(process.stderr);
  process.on('uncaughtException', (err) => log('uncaught', err));
  process.stdout.write(`chaos proxy listening on ${proxy.url}\n`);
  const stop = () => proxy.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
