// A minimal S3 endpoint that keeps objects as files, for the backup/restore benchmark only:
// moto keeps objects in Python memory and would measure itself, not the sidekick. It speaks
// path-style PutObject, multipart upload (create, upload part, complete, abort), GetObject
// and HeadObject: what the sidekick program calls.

import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, rmSync, statSync } from 'node:fs';
import { appendFile, readFile, rm } from 'node:fs/promises';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';

export interface S3Sink {
  readonly endpoint: string;
  /** Where object `bucket/key` is kept. */
  fileOf(bucket: string, key: string): string;
  close(): Promise<void>;
}

export async function startS3Sink(root: string): Promise<S3Sink> {
  mkdirSync(root, { recursive: true });
  const objects = join(root, 'objects');
  const parts = join(root, 'parts');
  const fileOf = (bucket: string, key: string) => join(objects, bucket, key);

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://sink');
    const [, bucket = '', ...rest] = url.pathname.split('/').map(decodeURIComponent);
    const key = rest.join('/');
    const uploadId = url.searchParams.get('uploadId');
    const file = fileOf(bucket, key);
    if (req.method === 'POST' && url.searchParams.has('uploads')) {
      const id = randomBytes(8).toString('hex');
      mkdirSync(join(parts, id), { recursive: true });
      return xml(
        res,
        `<InitiateMultipartUploadResult><Bucket>${bucket}</Bucket><Key>${key}</Key><UploadId>${id}</UploadId></InitiateMultipartUploadResult>`,
      );
    }
    if (req.method === 'PUT' && uploadId) {
      const part = join(parts, uploadId, String(url.searchParams.get('partNumber')).padStart(6, '0'));
      await pipeline(req, createWriteStream(part));
      return empty(res, 200, {
        etag: `"${uploadId}-${url.searchParams.get('partNumber')}"`,
        ...echoChecksum(req),
      });
    }
    if (req.method === 'POST' && uploadId) {
      const body = await readBody(req);
      const numbers = [...body.matchAll(/<PartNumber>(\d+)<\/PartNumber>/g)].map((m) =>
        m[1]!.padStart(6, '0'),
      );
      mkdirSync(dirname(file), { recursive: true });
      rmSync(file, { force: true });
      for (const n of numbers) await appendFile(file, await readFile(join(parts, uploadId, n)));
      await rm(join(parts, uploadId), { recursive: true, force: true });
      return xml(
        res,
        `<CompleteMultipartUploadResult><Bucket>${bucket}</Bucket><Key>${key}</Key><ETag>"${uploadId}"</ETag></CompleteMultipartUploadResult>`,
      );
    }
    if (req.method === 'DELETE' && uploadId) {
      await rm(join(parts, uploadId), { recursive: true, force: true });
      return empty(res, 204);
    }
    if (req.method === 'PUT') {
      mkdirSync(dirname(file), { recursive: true });
      await pipeline(req, createWriteStream(file));
      return empty(res, 200, { etag: '"single"', ...echoChecksum(req) });
    }
    if (req.method === 'GET' || req.method === 'HEAD') {
      let size: number;
      try {
        size = statSync(file).size;
      } catch {
        res.writeHead(404, { 'content-type': 'application/xml' });
        return res.end(
          req.method === 'GET'
            ? '<Error><Code>NoSuchKey</Code><Message>no such key</Message></Error>'
            : undefined,
        );
      }
      res.writeHead(200, { 'content-length': String(size), etag: '"x"' });
      if (req.method === 'HEAD') return res.end();
      return pipeline(createReadStream(file), res);
    }
    empty(res, 405);
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      res.writeHead(500);
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    fileOf,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function echoChecksum(req: IncomingMessage): Record<string, string> {
  const sum = req.headers['x-amz-checksum-sha256'];
  return typeof sum === 'string' ? { 'x-amz-checksum-sha256': sum } : {};
}

function xml(res: ServerResponse, body: string) {
  res.writeHead(200, { 'content-type': 'application/xml' });
  res.end(`<?xml version="1.0" encoding="UTF-8"?>${body}`);
}

function empty(res: ServerResponse, status: number, headers: Record<string, string> = {}) {
  res.writeHead(status, headers);
  res.end();
}
