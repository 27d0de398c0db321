// The baselines: what a hand-written JS app would do, on the same page as the engine.

export function now() {
  return performance.now();
}

export function rawOpen(name) {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(name, 1);
    req.onupgradeneeded = () => req.result.createObjectStore('raw', { keyPath: 'id' });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

/** One record, one strict-durability transaction. */
export function rawPut(db, record) {
  const tx = db.transaction(['raw'], 'readwrite', { durability: 'strict' });
  tx.objectStore('raw').put(record);
  return done(tx);
}

export function rawFill(db, records) {
  const tx = db.transaction(['raw'], 'readwrite', { durability: 'strict' });
  const store = tx.objectStore('raw');
  for (const r of records) store.put(r);
  return done(tx);
}

// Encryption at rest: what a hand-written app would do to seal its records, read a thread
// and unlock its key, all with WebCrypto.

const encoder = new TextEncoder();

/** A random AES-256-GCM key for the records. */
export function rawAesKey() {
  return crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
}

/** The record as JSON, sealed with AES-GCM under a fresh 96-bit IV (bound to its id, as the
 * app binds a value to its record): `{ id, sealed: IV || ciphertext and tag }`. */
async function seal(key, record) {
  const id = String(record.id);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const plain = encoder.encode(JSON.stringify(record));
  const ciphertext = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv, additionalData: encoder.encode(id) }, key, plain);
  const sealed = new Uint8Array(iv.length + ciphertext.byteLength);
  sealed.set(iv);
  sealed.set(new Uint8Array(ciphertext), iv.length);
  return { id, sealed };
}

/** The record sealed, then put in one strict-durability transaction. */
export async function rawSealedPut(db, key, record) {
  return rawPut(db, await seal(key, record));
}

export async function rawSealedFill(db, key, records) {
  return rawFill(db, await Promise.all(records.map((r) => seal(key, r))));
}

/** A database with one store of out-of-line keys, as the app's `entities`. */
export function rawOpenEntities(name) {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(name, 1);
    req.onupgradeneeded = () => req.result.createObjectStore('entities');
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

export function rawStoreEntities(db, keys, values) {
  const tx = db.transaction(['entities'], 'readwrite', { durability: 'strict' });
  const store = tx.objectStore('entities');
  values.forEach((v, i) => store.put(v, keys[i]));
  return done(tx);
}

/** A thread's messages in plaintext (`getAll` over its key prefix), rendered as text into a
 * new `<ul>` swapped into `container`, as the engine side does. Resolves to the count and
 * the time (`performance.now()`) at which the messages were read. */
export function rawRenderThread(db, prefix, container) {
  return new Promise((resolve, reject) => {
    const tx = db.transaction(['entities'], 'readonly');
    const req = tx.objectStore('entities').getAll(IDBKeyRange.bound(prefix, `${prefix}\uffff`));
    req.onerror = () => reject(req.error);
    req.onsuccess = () => {
      const read = performance.now();
      const list = document.createElement('ul');
      for (const m of req.result) {
        const item = document.createElement('li');
        item.textContent = `${m.senderName} · ${m.sentAt}: ${m.body}`;
        list.appendChild(item);
      }
      container.replaceChildren(list);
      resolve({ count: req.result.length, read });
    };
  });
}

/** The key-encryption key from a password: PBKDF2-SHA256, then AES-KW. */
async function passwordKey(password, salt, iterations) {
  const base = await crypto.subtle.importKey('raw', encoder.encode(password), 'PBKDF2', false, ['deriveKey']);
  return crypto.subtle.deriveKey(
    { name: 'PBKDF2', salt, iterations, hash: 'SHA-256' }, base,
    { name: 'AES-KW', length: 256 }, false, ['wrapKey', 'unwrapKey']);
}

/** A random data key wrapped under a password: `{ salt, iterations, wrapped }`. */
export async function rawKeyring(password, iterations) {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const dataKey = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, true, ['encrypt', 'decrypt']);
  const wrapped = await crypto.subtle.wrapKey('raw', dataKey, await passwordKey(password, salt, iterations), 'AES-KW');
  return { salt, iterations, wrapped };
}

/** Unlock: importKey + deriveKey (PBKDF2) + unwrapKey (AES-KW). */
export async function rawUnlock(password, keyring) {
  const kek = await passwordKey(password, keyring.salt, keyring.iterations);
  return crypto.subtle.unwrapKey('raw', keyring.wrapped, kek, 'AES-KW',
    { name: 'AES-GCM', length: 256 }, true, ['encrypt', 'decrypt']);
}

/** POSTs every request, `concurrency` at a time, as a hand-written replay loop would. */
export async function rawFetchLoop(token, requests, concurrency) {
  let next = 0;
  let failed = 0;
  async function worker() {
    while (next < requests.length) {
      const r = requests[next++];
      const res = await fetch(r.path, {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${token}`,
          'Content-Type': 'application/json',
          'Idempotency-Key': r.body.clientMutationId,
        },
        body: JSON.stringify(r.body),
      });
      await res.text();
      if (!res.ok) failed++;
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  return failed;
}
