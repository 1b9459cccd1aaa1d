// Sésame transparency ledger, checked in the browser: RFC 9162 Merkle proofs with crypto.subtle SHA-256,
// C2SP signed-note checkpoints with Ed25519 (WebCrypto), and RFC 8785 salted commitments.
// An ES module with no dependencies; used by the ledger explorer and the citizen's receipt "verify" button.

const enc = new TextEncoder();

export function b64decode(text) {
  const clean = String(text).trim().replace(/-/g, "+").replace(/_/g, "/");
  const padded = clean + "===".slice((clean.length + 3) % 4);
  const raw = atob(padded);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

export function b64encode(bytes) {
  let raw = "";
  for (const b of bytes) raw += String.fromCharCode(b);
  return btoa(raw);
}

export function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function equal(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

export async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

/** RFC 9162 leaf hash: SHA-256(0x00 || data). */
export function leafHash(data) {
  return sha256(concat(Uint8Array.of(0), data));
}

/** RFC 9162 interior node hash: SHA-256(0x01 || left || right). */
export function nodeHash(left, right) {
  return sha256(concat(Uint8Array.of(1), left, right));
}

export class ProofError extends Error {}

/** RFC 9162 §2.1.3.2: the root an inclusion proof leads to; throws ProofError when it is malformed. */
export async function rootFromInclusionProof(leaf, index, size, proof) {
  if (leaf.length !== 32) throw new ProofError("the leaf hash is not 32 bytes");
  if (!(Number.isSafeInteger(index) && Number.isSafeInteger(size) && index >= 0 && index < size)) {
    throw new ProofError(`index ${index} is outside a tree of size ${size}`);
  }
  // Sizes up to 2^53 do not fit JavaScript's 32-bit bit operations: use BigInt.
  let fn = BigInt(index);
  let sn = BigInt(size - 1);
  let r = leaf;
  for (const p of proof) {
    if (p.length !== 32) throw new ProofError("a proof hash is not 32 bytes");
    if (sn === 0n) throw new ProofError("the inclusion proof is too long");
    if ((fn & 1n) === 1n || fn === sn) {
      r = await nodeHash(p, r);
      while (fn !== 0n && (fn & 1n) === 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new ProofError("the inclusion proof is too short");
  return r;
}

/** True when `proof` shows leaf hash `leaf` at `index` in the tree of `size` leaves whose root is `root`. */
export async function verifyInclusion(leaf, index, size, proof, root) {
  const computed = await rootFromInclusionProof(leaf, index, size, proof);
  if (!equal(computed, root)) throw new ProofError("the inclusion proof does not lead to the checkpoint's root");
  return true;
}

/** RFC 9162 §2.1.4.2: true when the tree (size1, root1) is a prefix of (size2, root2). */
export async function verifyConsistency(size1, size2, proof, root1, root2) {
  if (size1 <= 0 || size2 < size1) throw new ProofError("bad sizes");
  if (size1 === size2) {
    if (proof.length) throw new ProofError("equal sizes need an empty proof");
    if (!equal(root1, root2)) throw new ProofError("equal sizes but different roots");
    return true;
  }
  if (!proof.length) throw new ProofError("empty consistency proof");
  const path = proof.slice();
  let fn = BigInt(size1 - 1);
  let sn = BigInt(size2 - 1);
  if ((BigInt(size1) & BigInt(size1 - 1)) === 0n) path.unshift(root1);
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0n) throw new ProofError("the consistency proof is too long");
    if ((fn & 1n) === 1n || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      while (fn !== 0n && (fn & 1n) === 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      sr = await nodeHash(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new ProofError("the consistency proof is too short");
  if (!equal(fr, root1)) throw new ProofError("the proof does not lead to the earlier root");
  if (!equal(sr, root2)) throw new ProofError("the proof does not lead to the current root");
  return true;
}

/** A C2SP signed note: its signed body (ending in a newline) and its signature lines. */
export function parseNote(note) {
  const split = note.indexOf("\n\n");
  if (split < 0) throw new ProofError("not a signed note");
  const body = note.slice(0, split + 1);
  const signatures = [];
  for (const line of note.slice(split + 2).split("\n")) {
    if (!line) continue;
    const m = /^\u2014 (\S+) (\S+)$/.exec(line);
    if (!m) throw new ProofError("bad signature line");
    const raw = b64decode(m[2]);
    if (raw.length < 5) throw new ProofError("bad signature line");
    signatures.push({ name: m[1], keyHash: raw.slice(0, 4), signature: raw.slice(4) });
  }
  if (!signatures.length) throw new ProofError("the note has no signature");
  return { body, signatures };
}

/** A C2SP checkpoint: origin, size, root hash and extension lines of a signed note. */
export function parseCheckpoint(note) {
  const { body, signatures } = parseNote(note);
  const lines = body.split("\n").slice(0, -1);
  if (lines.length < 3) throw new ProofError("a checkpoint has an origin, a size and a root");
  const size = Number(lines[1]);
  if (!/^[0-9]+$/.test(lines[1]) || !Number.isSafeInteger(size)) throw new ProofError("bad checkpoint size");
  const rootHash = b64decode(lines[2]);
  if (rootHash.length !== 32) throw new ProofError("bad checkpoint root hash");
  return { body, origin: lines[0], size, rootHash, extensions: lines.slice(3), signatures };
}

/** A C2SP verifier key `name+hexkeyid+base64(type || public key)`. */
export function parseVkey(vkey) {
  // The base64 part may itself contain "+": split on the first two only.
  const text = vkey.trim();
  const first = text.indexOf("+");
  const second = text.indexOf("+", first + 1);
  if (first <= 0 || second < 0 || !/^[0-9a-f]{8}$/.test(text.slice(first + 1, second))) {
    throw new ProofError("bad verifier key");
  }
  const raw = b64decode(text.slice(second + 1));
  if (raw[0] !== 0x01 || raw.length !== 33) throw new ProofError("not an Ed25519 verifier key");
  const keyHash = Uint8Array.from(text.slice(first + 1, second).match(/../g).map((h) => parseInt(h, 16)));
  return { name: text.slice(0, first), keyHash, publicKey: raw.slice(1) };
}

/**
 * Check a key's Ed25519 signature on a parsed note or checkpoint. Resolves to "verified", or "unsupported" when this
 * browser's WebCrypto has no Ed25519; throws ProofError when the signature is missing or wrong.
 */
export async function verifyNoteSignature(checkpoint, vkey) {
  const key = parseVkey(vkey);
  const expectedId = (await sha256(concat(enc.encode(key.name), Uint8Array.of(0x0a, 0x01), key.publicKey))).slice(0, 4);
  if (!equal(expectedId, key.keyHash)) throw new ProofError("the verifier key's id does not match its key");
  const sig = checkpoint.signatures.find((s) => s.name === key.name && equal(s.keyHash, key.keyHash));
  if (!sig) throw new ProofError("the note is not signed by this key");
  let publicKey;
  try {
    publicKey = await crypto.subtle.importKey("raw", key.publicKey, { name: "Ed25519" }, false, ["verify"]);
  } catch (e) {
    return "unsupported";
  }
  const ok = await crypto.subtle.verify({ name: "Ed25519" }, publicKey, sig.signature, enc.encode(checkpoint.body));
  if (!ok) throw new ProofError("the signature does not verify");
  return "verified";
}

/** The log's own signature on a checkpoint (same check as any note). */
export const verifyCheckpointSignature = verifyNoteSignature;

/** RFC 8785 canonical JSON for the values Sésame commits to (objects, arrays, strings, integers, booleans). */
export function canonicalJson(value) {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return "[" + value.map(canonicalJson).join(",") + "]";
  const keys = Object.keys(value).sort();
  return "{" + keys.map((k) => JSON.stringify(k) + ":" + canonicalJson(value[k])).join(",") + "}";
}

/** Hex SHA-256(salt || canonical JSON): the commitment a personal ledger leaf carries. */
export async function saltedCommitment(saltB64, committed) {
  return hex(await sha256(concat(b64decode(saltB64), enc.encode(canonicalJson(committed)))));
}

function hashList(value) {
  const list = Array.isArray(value) ? value : value.hashes || value.proof || value.audit_path || value.inclusion || [];
  return list.map(b64decode);
}

async function getJson(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

async function getText(url) {
  const response = await fetch(url, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.text();
}

const API = "/api/v1/ledger";

export async function fetchCheckpoint() {
  const note = await getText(`${API}/checkpoint`);
  return { note, checkpoint: parseCheckpoint(note) };
}

export async function fetchVkey() {
  const text = await getText(`${API}/key`);
  const trimmed = text.trim();
  if (trimmed.startsWith("{")) {
    const data = JSON.parse(trimmed);
    return data.vkey || data.key;
  }
  return trimmed;
}

export async function fetchEntry(index) {
  return getJson(`${API}/entries/${index}`);
}

export async function fetchInclusionProof(index, size) {
  return hashList(await getJson(`${API}/proofs/inclusion?index=${index}&size=${size}`));
}

export async function fetchConsistencyProof(first, second) {
  return hashList(await getJson(`${API}/proofs/consistency?first=${first}&second=${second}`));
}

/**
 * Everything about one entry, checked: its bytes hash to its leaf hash, the inclusion proof leads to the root
 * of the signed checkpoint, and the checkpoint's signature verifies. Returns a report; throws on failure.
 */
export async function verifyEntry(index, { checkpoint, vkey } = {}) {
  const latest = checkpoint || (await fetchCheckpoint()).checkpoint;
  const entry = await fetchEntry(index);
  const data = b64decode(entry.data);
  const computedLeaf = await leafHash(data);
  if (entry.leaf_hash && !equal(computedLeaf, b64decode(entry.leaf_hash))) {
    throw new ProofError("the entry's bytes do not hash to its leaf hash");
  }
  const proof = await fetchInclusionProof(index, latest.size);
  await verifyInclusion(computedLeaf, index, latest.size, proof, latest.rootHash);
  const signature = await verifyCheckpointSignature(latest, vkey || (await fetchVkey()));
  return { entry, checkpoint: latest, leafHash: computedLeaf, proof, signature };
}

/**
 * A citizen's receipt proof bundle (from /api/v1/vault/receipts/{id}/proof): recompute the salted commitment
 * from the salt and the committed JSON, find it in the leaf, and prove the leaf's inclusion under a signed
 * checkpoint. Accepts the bundle's own leaf/proof/checkpoint when present, else fetches them.
 */
export async function verifyReceipt(bundle, { vkey } = {}) {
  const commitment = await saltedCommitment(bundle.salt, bundle.committed);
  if (bundle.commitment && bundle.commitment !== commitment) {
    throw new ProofError("the salt and the receipt do not give the stated commitment");
  }
  const index = Number(bundle.index ?? bundle.leaf_index);
  let note = bundle.checkpoint || bundle.note;
  let checkpoint;
  if (note) {
    checkpoint = parseCheckpoint(note);
  } else {
    ({ note, checkpoint } = await fetchCheckpoint());
  }
  const leafB64 = bundle.leaf || bundle.data || bundle.entry?.data || (await fetchEntry(index)).data;
  const data = b64decode(leafB64);
  const leaf = JSON.parse(new TextDecoder().decode(data));
  const inLeaf = leaf.commitment || leaf.data?.commitment;
  if (inLeaf !== commitment) throw new ProofError("the ledger entry does not carry this receipt's commitment");
  const computedLeaf = await leafHash(data);
  const size = Number(bundle.size ?? bundle.tree_size ?? checkpoint.size);
  if (size !== checkpoint.size) throw new ProofError("the proof is for another tree size than the checkpoint");
  const proof = bundle.proof || bundle.hashes || bundle.inclusion ? hashList(bundle.proof || bundle.hashes || bundle.inclusion) : await fetchInclusionProof(index, size);
  await verifyInclusion(computedLeaf, index, size, proof, checkpoint.rootHash);
  const signature = await verifyCheckpointSignature(checkpoint, vkey || (await fetchVkey()));
  return { index, size, commitment, checkpoint, signature, leaf };
}
