/**
 * Clear payloads are refused on decode by the codec every worker and client uses: anyone who can
 * reach Temporal could otherwise signal a workflow (a fake provider event, a fake capture) with an
 * unencrypted payload and have it taken as ours. Two readers legitimately see clear payloads and opt
 * in explicitly: the codec server (display for the Temporal UI; it only shows, nothing acts on it)
 * and replay of histories that were decoded when exported (test/replay, `cli workflows replay`).
 */
import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { loadDataConverter } from '@temporalio/common/lib/internal-non-workflow';
import { installReplayKeyring } from '../../cli/workflows';
import { dataConverter } from '../../workflows/data-converter';
import {
  createEncryptionCodec,
  displayCodec,
  installPayloadKeyring,
  type PayloadKeyring,
} from '../../security/payload-codec';

const key = randomBytes(32);
const ring: PayloadKeyring = {
  current: () => Promise.resolve({ id: 'wk_a', key }),
  byId: () => Promise.resolve(key),
};
const fakeEvent = defaultPayloadConverter.toPayload({
  provider: 'stripe',
  eventId: 'evt_forged',
  kind: 'payment.captured',
  amount: 100,
});

test('the worker/client codec refuses a clear payload on decode instead of passing it through', async () => {
  const codec = createEncryptionCodec(() => ring);
  await expect(codec.decode([fakeEvent])).rejects.toThrow(/unencrypted payload/);
  // One clear payload among encrypted ones is enough to refuse the batch.
  const [sealed] = await codec.encode([defaultPayloadConverter.toPayload('ok')]);
  await expect(codec.decode([sealed!, fakeEvent])).rejects.toThrow(/unencrypted payload/);
  await expect(codec.decode([sealed!])).resolves.toHaveLength(1);
});

test('the shared data converter (what workers decode signals with) refuses it too', async () => {
  installPayloadKeyring(ring);
  const loaded = loadDataConverter(dataConverter);
  const codec = loaded.payloadCodecs[0]!;
  await expect(codec.decode([fakeEvent])).rejects.toThrow(/unencrypted payload/);
});

test('the codec server display codec shows clear payloads unchanged and still decrypts sealed ones', async () => {
  installPayloadKeyring(ring);
  const [sealed] = await createEncryptionCodec(() => ring).encode([defaultPayloadConverter.toPayload('x')]);
  const out = await displayCodec.decode([fakeEvent, sealed!]);
  expect(out[0]).toEqual(fakeEvent);
  expect(defaultPayloadConverter.fromPayload(out[1] as Payload)).toBe('x');
});

test('replaying decoded histories: the replay keyring accepts clear payloads', async () => {
  installReplayKeyring();
  const codec = loadDataConverter(dataConverter).payloadCodecs[0]!;
  await expect(codec.decode([fakeEvent])).resolves.toEqual([fakeEvent]);
  installPayloadKeyring(ring);
  await expect(codec.decode([fakeEvent])).rejects.toThrow(/unencrypted payload/);
});
