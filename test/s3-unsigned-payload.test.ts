/**
 * Uploads carry Content-MD5, which the server checks, so their payload goes unsigned
 * (x-amz-content-sha256: UNSIGNED-PAYLOAD) instead of being hashed a second time for the signature;
 * every other request keeps its signed payload hash. Seen on the wire by a plain HTTP server that
 * records what arrives (that a real server accepts such uploads, every s3-* test shows).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createS3Client } from '../src/storages/s3/client.js';

test('an upload with Content-MD5 goes with an unsigned payload; other requests keep the signed hash', async (t) => {
  const seen: http.IncomingHttpHeaders[] = [];
  const server = http.createServer((req, res) => {
    seen.push(req.headers);
    req.resume();
    req.on('end', () => res.writeHead(200, { etag: '"x"' }).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const client = createS3Client({
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    region: 'us-east-1',
    forcePathStyle: true,
    accessKeyId: 'id',
    secretAccessKey: 'secret',
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    stallTimeoutSeconds: 5,
    retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
  });
  t.after(() => client.destroy());

  const body = Buffer.from('the bytes of one blob');
  const md5 = createHash('md5').update(body).digest('base64');
  await client.send(new PutObjectCommand({ Bucket: 'b', Key: 'checked', Body: body, ContentMD5: md5 }));
  await client.send(new PutObjectCommand({ Bucket: 'b', Key: 'unchecked', Body: body }));
  await client.send(new DeleteObjectCommand({ Bucket: 'b', Key: 'checked' }));

  const [checked, unchecked, deleted] = seen;
  assert.equal(checked!['content-md5'], md5);
  assert.equal(checked!['x-amz-content-sha256'], 'UNSIGNED-PAYLOAD');
  assert.match(String(checked!.authorization), /SignedHeaders=[^,]*content-md5[^,]*x-amz-content-sha256/);
  assert.equal(unchecked!['x-amz-content-sha256'], createHash('sha256').update(body).digest('hex'));
  assert.equal(deleted!['x-amz-content-sha256'], createHash('sha256').update('').digest('hex'));
});
