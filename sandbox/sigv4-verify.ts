// Verifies AWS Signature Version 4 on requests to the sandbox API, as API Gateway does for
// AWS_IAM methods: the Authorization header names an access key, a scope and the signed
// headers; the signature is recomputed with that key's secret and compared.

import { createHash, timingSafeEqual } from 'node:crypto';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';

export interface SecretLookup {
  (accessKeyId: string): string | undefined;
}

export interface IncomingSigned {
  readonly method: string;
  /** Raw path as sent, still percent-encoded. */
  readonly rawPath: string;
  readonly query: Record<string, string | string[]>;
  /** Lower-case header names. */
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

export type VerifyResult =
  { readonly ok: true; readonly accessKeyId: string } | { readonly ok: false; readonly message: string };

const AUTH =
  /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$/;
const MAX_SKEW_MS = 5 * 60_000;

export async function verifySigV4(
  request: IncomingSigned,
  options: {
    readonly region: string;
    readonly service: string;
    readonly secretOf: SecretLookup;
    readonly now?: number;
  },
): Promise<VerifyResult> {
  const authorization = request.headers.authorization;
  if (!authorization) return { ok: false, message: 'Missing Authentication Token' };
  const m = AUTH.exec(authorization);
  if (!m)
    return {
      ok: false,
      message: 'Authorization header requires a SigV4 Credential, SignedHeaders and Signature',
    };
  const [, accessKeyId, day, region, service, signedHeaderList, signature] = m as unknown as string[];
  const secret = options.secretOf(accessKeyId!);
  if (!secret) return { ok: false, message: 'The security token included in the request is invalid.' };
  if (region !== options.region || service !== options.service) {
    return {
      ok: false,
      message: `Credential should be scoped to region '${options.region}' and service '${options.service}'`,
    };
  }
  const amzDate = request.headers['x-amz-date'];
  const signingDate = amzDate ? parseAmzDate(amzDate) : undefined;
  if (!signingDate || !amzDate!.startsWith(day!))
    return { ok: false, message: 'X-Amz-Date is missing or does not match the credential scope' };
  if (Math.abs((options.now ?? Date.now()) - signingDate.getTime()) > MAX_SKEW_MS) {
    return {
      ok: false,
      message: 'Signature expired: the request time is more than 5 minutes away from the server time',
    };
  }
  const signedHeaders = signedHeaderList!.split(';');
  if (!signedHeaders.includes('host')) return { ok: false, message: "SignedHeaders must include 'host'" };
  const declaredHash = request.headers['x-amz-content-sha256'];
  const bodyHash = createHash('sha256').update(request.body).digest('hex');
  if (declaredHash && declaredHash !== 'UNSIGNED-PAYLOAD' && declaredHash !== bodyHash) {
    return { ok: false, message: 'The provided x-amz-content-sha256 header does not match the body' };
  }

  const headers: Record<string, string> = {};
  for (const name of signedHeaders) {
    const value = request.headers[name];
    if (value === undefined) return { ok: false, message: `Signed header '${name}' is missing` };
    headers[name] = value;
  }
  const [hostname, port] = (request.headers.host ?? '').split(':');
  const signer = new SignatureV4({
    credentials: { accessKeyId: accessKeyId!, secretAccessKey: secret },
    region: region!,
    service: service!,
    sha256: Hash.bind(null, 'sha256'),
    applyChecksum: false,
  });
  const expected = await signer.sign(
    new HttpRequest({
      method: request.method,
      protocol: 'http:',
      hostname: hostname ?? '',
      ...(port ? { port: Number(port) } : {}),
      path: request.rawPath,
      query: request.query,
      headers,
      body: request.body.length > 0 ? request.body : undefined,
    }),
    { signingDate },
  );
  const expectedSignature = /Signature=([0-9a-f]{64})/.exec(expected.headers.authorization ?? '')?.[1] ?? '';
  const same =
    expectedSignature.length === signature!.length &&
    timingSafeEqual(Buffer.from(expectedSignature), Buffer.from(signature!));
  return same
    ? { ok: true, accessKeyId: accessKeyId! }
    : {
        ok: false,
        message:
          'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
      };
}

function parseAmzDate(value: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
}
