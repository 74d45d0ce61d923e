import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  decodeMessage,
  encodeMessage,
  Message,
  uuidFromWire,
  uuidToWire,
} from '../../../lambdas/exec/protocol/codec';
import { open, seal, splitDataKey } from '../../../lambdas/exec/protocol/crypto';

/** Byte vectors produced by the reference client's own serializer (see the fixture's source note in README). */
const vectors = JSON.parse(
  readFileSync(join(__dirname, '..', '..', 'fixtures', 'ssm-vectors.json'), 'utf8'),
) as {
  name: string;
  hex: string;
  len: number;
  payload: string;
}[];

const FIXTURE_ID = 'dd01e56b-ff48-483e-a508-b5f073f31b16';
const CREATED = 1503434274948;

/** The header fields each vector was serialized from. */
const FIELDS: Record<string, Omit<Message, 'payload' | 'schemaVersion' | 'createdDate'>> = {
  plugin_test_fixture_input_stream_data: {
    messageType: 'input_stream_data',
    sequenceNumber: 1,
    flags: 2,
    messageId: FIXTURE_ID,
    payloadType: 0,
  },
  size_300x100_seq0: {
    messageType: 'input_stream_data',
    sequenceNumber: 0,
    flags: 0,
    messageId: FIXTURE_ID,
    payloadType: 3,
  },
  acknowledge_for_output_seq2: {
    messageType: 'acknowledge',
    sequenceNumber: 0,
    flags: 3,
    messageId: '3b0a4a8e-0d2c-4c8e-9a57-0b8f2a3c4d5e',
    payloadType: 0,
  },
  agent_output_seq0_syn_hello: {
    messageType: 'output_stream_data',
    sequenceNumber: 0,
    flags: 1,
    messageId: '123e4567-e89b-12d3-a456-426614174000',
    payloadType: 1,
  },
  handshake_response_sessiontype_seq0: {
    messageType: 'input_stream_data',
    sequenceNumber: 0,
    flags: 0,
    messageId: FIXTURE_ID,
    payloadType: 6,
  },
  flag_terminate_session_seq1: {
    messageType: 'input_stream_data',
    sequenceNumber: 1,
    flags: 0,
    messageId: FIXTURE_ID,
    payloadType: 10,
  },
};

describe('data-channel codec against the reference vectors', () => {
  it('has fields for every vector in the fixture', () => {
    expect(vectors.map((v) => v.name).sort()).toEqual(Object.keys(FIELDS).sort());
  });

  it.each(vectors.map((v) => [v.name, v] as const))('encodes %s byte for byte', (name, v) => {
    const frame = encodeMessage({
      ...FIELDS[name]!,
      schemaVersion: 1,
      createdDate: CREATED,
      payload: Buffer.from(v.payload, 'latin1'),
    });
    expect(frame.toString('hex')).toBe(v.hex);
    expect(frame.length).toBe(v.len);
  });

  it.each(vectors.map((v) => [v.name, v] as const))('decodes %s to its fields', (name, v) => {
    const m = decodeMessage(Buffer.from(v.hex, 'hex'));
    expect(m).toMatchObject({
      ...FIELDS[name],
      schemaVersion: 1,
      createdDate: CREATED,
      headerLength: 116,
      digestValid: true,
    });
    expect(m.payload.toString('latin1')).toBe(v.payload);
  });

  it('decodes the lenient frame (NUL-padded type, hex-text digest) and reports the bad digest', () => {
    const hex =
      '00000074000000000000000000000000000000696e7075745f73747265616d5f6461746100000001000000001e5b37e200000000000000000000000000000001730f664914534e2a9f01a37dbffefce1653434333635623935313136326564613634616365666432373537323230396500000003000000167b22636f6c73223a3230322c22726f7773223a31387d';
    const m = decodeMessage(Buffer.from(hex, 'hex'));
    expect(m).toMatchObject({
      messageType: 'input_stream_data',
      sequenceNumber: 0,
      flags: 1,
      payloadType: 3,
      messageId: '9f01a37d-bffe-fce1-730f-664914534e2a',
      digestValid: false,
    });
    expect(m.payload.toString()).toBe('{"cols":202,"rows":18}');
  });

  it('reads the payload from HL+4 when a channel_closed arrives with HL 112 and no PayloadType', () => {
    const json = Buffer.from('{"Output":"bye"}');
    const frame = Buffer.alloc(116 + json.length);
    frame.writeUInt32BE(112, 0);
    frame.write('channel_closed', 4, 'ascii');
    frame.writeUInt32BE(1, 36);
    frame.writeBigUInt64BE(1n, 40);
    frame.writeUInt32BE(json.length, 112);
    json.copy(frame, 116);
    const m = decodeMessage(frame);
    expect(m.messageType).toBe('channel_closed');
    expect(m.payloadType).toBe(0);
    expect(m.payload.toString()).toBe('{"Output":"bye"}');
  });

  it.each([
    ['too short', Buffer.alloc(50)],
    ['header length past the end', Buffer.concat([Buffer.from('000000ff', 'hex'), Buffer.alloc(120)])],
  ])('refuses a frame that is %s', (_name, frame) => {
    expect(() => decodeMessage(frame)).toThrow(/CodecError|header|shorter/);
  });

  it('swaps UUID halves on the wire and back', () => {
    expect(uuidToWire(FIXTURE_ID).toString('hex')).toBe('a508b5f073f31b16dd01e56bff48483e');
    expect(uuidFromWire(uuidToWire(FIXTURE_ID))).toBe(FIXTURE_ID);
  });

  it('refuses to encode an empty payload', () => {
    expect(() =>
      encodeMessage({
        ...FIELDS.size_300x100_seq0!,
        schemaVersion: 1,
        createdDate: CREATED,
        payload: Buffer.alloc(0),
      }),
    ).toThrow(/payload/);
  });
});

describe('KMS session cipher against the reference vectors', () => {
  const dataKey = Buffer.from(Array.from({ length: 64 }, (_, i) => i));
  const nonce = Buffer.from('000102030405060708090a0b', 'hex');

  it('seals agent output with key[0:32] and the client opens it', () => {
    const agent = splitDataKey(dataKey, 'agent');
    const sealed = seal(agent.encrypt, Buffer.from('hello\r\n'), nonce);
    expect(sealed.toString('hex')).toBe(
      '000102030405060708090a0b2f67ba77aae8c89300047a31533ff9d4164be444aedcfa',
    );
    expect(open(splitDataKey(dataKey, 'client').decrypt, sealed).toString()).toBe('hello\r\n');
  });

  it('seals client input with key[32:64]', () => {
    const sealed = seal(splitDataKey(dataKey, 'client').encrypt, Buffer.from('ls\n'), nonce);
    expect(sealed.toString('hex')).toBe('000102030405060708090a0b302157090cf9c165b82a99da9fc1a070d21cbb');
    expect(open(splitDataKey(dataKey, 'agent').decrypt, sealed).toString()).toBe('ls\n');
  });

  it('refuses a tampered payload', () => {
    const sealed = seal(splitDataKey(dataKey, 'client').encrypt, Buffer.from('ls\n'), nonce);
    sealed[13] ^= 1;
    expect(() => open(splitDataKey(dataKey, 'agent').decrypt, sealed)).toThrow();
  });
});
