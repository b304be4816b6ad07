import crypto from 'node:crypto';

/** Random bytes are drawn from the system in blocks: one call per id cost more than the rest of the id. */
const RANDOM_BLOCK = 4096;
const random = Buffer.alloc(RANDOM_BLOCK);
let randomAt = RANDOM_BLOCK;
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** takeRandom reserves n unused random bytes of the block and returns where they start. */
function takeRandom(n: number): number {
  if (randomAt + n > RANDOM_BLOCK) {
    crypto.randomFillSync(random);
    randomAt = 0;
  }
  randomAt += n;
  return randomAt - n;
}

/**
 * pooledRandomBytes returns n (at most 4,096) random bytes never handed out before, drawn from
 * the system's CSPRNG in blocks: a view that the next call may overwrite, so copy or use it at once.
 */
export function pooledRandomBytes(n: number): Buffer {
  const at = takeRandom(n);
  return random.subarray(at, at + n);
}

/** The time and counter of the last id: ids made within one millisecond count up from a random start. */
let lastMs = -1;
let counter = 0;

/**
 * newId returns an opaque, time-ordered identifier (UUIDv7, RFC 9562), so ids also sort by
 * creation: 48 bits of Unix milliseconds, then a 31-bit counter that starts at a random value
 * each millisecond and counts up within it (ids of one batch sort in the batch's order), then 43
 * random bits, which keep the ids of several processes apart.
 */
export function newId(): string {
  const r = takeRandom(10);
  let ms = Date.now();
  if (ms > lastMs) {
    counter = ((random[r]! & 0x7f) << 24) | (random[r + 1]! << 16) | (random[r + 2]! << 8) | random[r + 3]!;
    lastMs = ms;
  } else {
    counter = (counter + 1) | 0;
    // 2^31 ids in one millisecond: borrow the next one, as RFC 9562's counter methods do.
    if (counter < 0) {
      counter = 0;
      lastMs += 1;
    }
    ms = lastMs;
  }
  const high = Math.floor(ms / 0x100000000);
  const low = ms >>> 0;
  return (
    HEX[(high >>> 8) & 0xff]! +
    HEX[high & 0xff]! +
    HEX[low >>> 24]! +
    HEX[(low >>> 16) & 0xff]! +
    '-' +
    HEX[(low >>> 8) & 0xff]! +
    HEX[low & 0xff]! +
    '-' +
    HEX[0x70 | ((counter >>> 27) & 0x0f)]! +
    HEX[(counter >>> 19) & 0xff]! +
    '-' +
    HEX[0x80 | ((counter >>> 13) & 0x3f)]! +
    HEX[(counter >>> 5) & 0xff]! +
    '-' +
    HEX[((counter << 3) & 0xf8) | (random[r + 4]! & 0x07)]! +
    HEX[random[r + 5]!]! +
    HEX[random[r + 6]!]! +
    HEX[random[r + 7]!]! +
    HEX[random[r + 8]!]! +
    HEX[random[r + 9]!]!
  );
}

/** randomToken returns a URL-safe secret with 256 bits of entropy, with an optional prefix. */
export function randomToken(prefix = ''): string {
  return prefix + crypto.randomBytes(32).toString('base64url');
}

/** sha256 returns the hex SHA-256 of a string; enough for high-entropy tokens, not for passwords. */
export function sha256(value: string): string {
  return crypto.createHash('sha256').update(value).digest('hex');
}
