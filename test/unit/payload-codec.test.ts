/** The Temporal payload codec: AES-256-GCM, key id in metadata, fails closed. */
import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import {
  decodeOptionalFailureToOptionalError,
  encodeErrorToFailure,
  loadDataConverter,
} from '@temporalio/common/lib/internal-non-workflow';
import { dataConverter } from '../../workflows/data-converter';
import {
  createEncryptionCodec,
  installPayloadKeyring,
  ENCODING_ENCRYPTED,
  METADATA_KEY_ID,
  type PayloadKeyring,
} from '../../security/payload-codec';

function keyring(): PayloadKeyring & { keys: Map<string, Buffer>; currentId: string } {
  const keys = new Map([
    ['wk_a', randomBytes(32)],
    ['wk_b', randomBytes(32)],
  ]);
  const ring = {
    keys,
    currentId: 'wk_a',
    current: () => Promise.resolve({ id: ring.currentId, key: keys.get(ring.currentId)! }),
    byId: (id: string) => {
      const k = keys.get(id);
      return k ? Promise.resolve(k) : Promise.reject(new Error('unknown key'));
    },
  };
  return ring;
}

const SECRET = { token: 'tok_123', note: 'holder Jane Example 4242424242424242' };
const text = (b: Uint8Array | null | undefined) => Buffer.from(b ?? new Uint8Array()).toString('latin1');

test('encode seals each payload and names the key; decode restores it exactly', async () => {
  const ring = keyring();
  const codec = createEncryptionCodec(() => ring);
  const plain = defaultPayloadConverter.toPayload(SECRET);
  const [enc] = await codec.encode([plain]);
  expect(text(enc!.metadata!.encoding)).toBe(ENCODING_ENCRYPTED);
  expect(text(enc!.metadata![METADATA_KEY_ID])).toBe('wk_a');
  expect(text(enc!.data)).not.toContain('4242424242424242');
  expect(text(enc!.data)).not.toContain('tok_123');
  expect(text(enc!.data)).not.toContain('json/plain');
  const [dec] = await codec.decode([enc!]);
  expect(defaultPayloadConverter.fromPayload(dec!)).toEqual(SECRET);
});

test('old payloads still decode after the current key changes (key id travels with the payload)', async () => {
  const ring = keyring();
  const codec = createEncryptionCodec(() => ring);
  const [old] = await codec.encode([defaultPayloadConverter.toPayload('before')]);
  ring.currentId = 'wk_b';
  const [fresh] = await codec.encode([defaultPayloadConverter.toPayload('after')]);
  expect(text(fresh!.metadata![METADATA_KEY_ID])).toBe('wk_b');
  const out = await codec.decode([old!, fresh!]);
  expect(out.map((p) => defaultPayloadConverter.fromPayload(p))).toEqual(['before', 'after']);
});

test('tampering, a swapped key id or an unknown key fails instead of returning garbage', async () => {
  const ring = keyring();
  const codec = createEncryptionCodec(() => ring);
  const [enc] = await codec.encode([defaultPayloadConverter.toPayload(SECRET)]);
  const flipped = Buffer.from(enc!.data!);
  flipped[flipped.length - 1]! ^= 1;
  await expect(codec.decode([{ ...enc!, data: flipped }])).rejects.toThrow();
  const swapped: Payload = {
    ...enc!,
    metadata: { ...enc!.metadata, [METADATA_KEY_ID]: Buffer.from('wk_b') },
  };
  await expect(codec.decode([swapped])).rejects.toThrow();
  const unknown: Payload = {
    ...enc!,
    metadata: { ...enc!.metadata, [METADATA_KEY_ID]: Buffer.from('wk_zz') },
  };
  await expect(codec.decode([unknown])).rejects.toThrow('unknown key');
});

test('unencrypted payloads are refused by decode; encode without a keyring fails closed', async () => {
  const codec = createEncryptionCodec(() => undefined);
  const plain = defaultPayloadConverter.toPayload({ a: 1 });
  await expect(codec.decode([plain])).rejects.toThrow('unencrypted payload refused');
  await expect(codec.encode([plain])).rejects.toThrow('payload encryption is not configured');
});

test('the shared data converter encrypts failure messages and stack traces, and decodes them back', async () => {
  installPayloadKeyring(keyring());
  const loaded = loadDataConverter(dataConverter);
  const failure = await encodeErrorToFailure(loaded, new Error('provider said: bad card 4242424242424242'));
  expect(failure.message).toBe('Encoded failure');
  expect(failure.stackTrace).toBe('');
  const attrs = failure.encodedAttributes!;
  expect(text(attrs.metadata!.encoding)).toBe(ENCODING_ENCRYPTED);
  expect(text(attrs.data)).not.toContain('4242424242424242');
  expect(text(attrs.data)).not.toContain('provider said');
  const back = await decodeOptionalFailureToOptionalError(loaded, failure);
  expect(back?.message).toBe('provider said: bad card 4242424242424242');
});
