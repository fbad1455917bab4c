/**
 * Encoding many small inputs (a bucket source's blobs, one per object): a child process per input
 * costs more to start than the work it does, so the leading codecs that node:zlib implements (zstd,
 * gzip) run in this process, on libuv's thread pool, and only the rest of the chain (age) runs as
 * children after them. The output is the same standard format either way (`zstd -dc` reads it).
 */
import { addAbortSignal, pipeline, type Readable, type Transform } from 'node:stream';
import { pipeline as pipelineAsync } from 'node:stream/promises';
import { startEncoders, type CodecChain } from './chain.js';

export interface EncodingStream {
  stdout: Readable;
  /** One per stage; each rejects with the stage's own error. */
  stages: Array<Promise<void>>;
}

/**
 * Starts encoding `input` (of exactly `size` bytes, when given) through `chain`; the input itself
 * when the chain is empty.
 */
export function encodeStream(
  chain: CodecChain,
  input: Readable,
  signal: AbortSignal,
  size?: number,
): EncodingStream {
  const transforms: Transform[] = [];
  for (const codec of chain) {
    // Only the first stage reads the input itself.
    const t = codec.encodeInProcess?.(transforms.length === 0 ? size : undefined);
    if (!t) break;
    transforms.push(t);
  }
  const stages: Array<Promise<void>> = [];
  let stdout = input;
  if (transforms.length > 0) {
    // Aborting destroys the last transform, and pipeline then the rest: nothing is left waiting.
    addAbortSignal(signal, transforms.at(-1)!);
    stages.push(
      new Promise<void>((resolve, reject) => {
        stdout = pipeline([input, ...transforms], (err) =>
          err ? reject(err) : resolve(),
        ) as unknown as Readable;
      }),
    );
  }
  const children = startEncoders(chain.slice(transforms.length), 'pipe', signal);
  if (children) {
    stages.push(...children.stages, pipelineAsync(stdout, children.stdin!, { signal }));
    stdout = children.stdout;
  }
  stages.forEach((p) => p.catch(() => {}));
  return { stdout, stages };
}
