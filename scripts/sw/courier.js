// The courier: on a Background Sync event, delivers the sealed writes the app left in the
// `caresync:courier` database, in lane order, under their author's replay credential, and
// writes each raw answer back beside its parcel. It opens nothing (the envelopes are sealed to
// the server) and decides nothing: the app's engine judges the answers when it next runs.

const DB = 'caresync:courier';
const TAG = 'caresync-outbox:';
const SEALED_PUSH = '/api/v1/sync/sealed';

export function listenForSync(worker) {
  worker.addEventListener('sync', (event) => {
    if (event.tag.startsWith(TAG)) event.waitUntil(deliver(event.tag.slice(TAG.length)));
  });
}

function request(r) {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error('aborted'));
  });
}

// The app lays out the database; if it is not there, there is nothing to deliver (and the
// worker must not create it in a shape of its own).
function open(name) {
  return new Promise((resolve) => {
    const r = indexedDB.open(name);
    r.onupgradeneeded = () => r.transaction.abort();
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => resolve(null);
  });
}

async function load(db, scope) {
  const tx = db.transaction(['parcels', 'credentials']);
  const range = IDBKeyRange.bound([scope, 0], [scope, Number.MAX_SAFE_INTEGER]);
  const parcels = await request(tx.objectStore('parcels').index('scope_seq').getAll(range));
  const credentials = await request(tx.objectStore('credentials').getAll());
  return { parcels, tokens: new Map(credentials.map((c) => [c.author, c.token])) };
}

// Written only if the parcel is still there unanswered: the app may have taken it back.
async function keep(db, id, answer) {
  const tx = db.transaction('parcels', 'readwrite');
  const store = tx.objectStore('parcels');
  const parcel = await request(store.get(id));
  if (parcel && !parcel.answer) store.put({ ...parcel, answer });
  await done(tx);
}

async function send(parcel, token, base) {
  const response = await fetch(`${base}${SEALED_PUSH}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Replay ${token}` },
    body: JSON.stringify(parcel.envelope),
    credentials: 'omit',
    cache: 'no-store',
  });
  const body = await response.json().catch(() => null);
  const wait = Number(response.headers.get('Retry-After'));
  return {
    status: response.status,
    body,
    retryAfter: Number.isFinite(wait) && wait > 0 ? wait : null,
    at: Date.now(),
  };
}

// Rejects when something should be tried again later, so the browser fires the event again.
// The options are for the browser tests, which run this same code from a page of their own.
export async function deliver(scope, { database = DB, base = '' } = {}) {
  const db = await open(database);
  if (!db) return;
  try {
    const { parcels, tokens } = await load(db, scope);
    const stopped = new Set();
    let again = false;
    for (const parcel of parcels) {
      if (stopped.has(parcel.lane)) continue;
      if (parcel.answer) {
        // Already carried: a lane goes on only past a success.
        if (parcel.answer.status >= 300) stopped.add(parcel.lane);
        continue;
      }
      const token = tokens.get(parcel.author);
      if (!token) {
        stopped.add(parcel.lane);
        continue;
      }
      let answer;
      try {
        answer = await send(parcel, token, base);
      } catch {
        // No answer at all: the network went again. The app or a later event sends it.
        stopped.add(parcel.lane);
        again = true;
        continue;
      }
      await keep(db, parcel.id, answer);
      if (answer.status >= 300) stopped.add(parcel.lane);
      if (answer.status >= 500 || answer.status === 429) again = true;
    }
    if (again) throw new Error('some sealed writes are to be tried again');
  } finally {
    db.close();
  }
}
