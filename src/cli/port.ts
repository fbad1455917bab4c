/** A port given on the command line (`serve --port`, `demo --serve`): 0-65535, 0 for any free one. */
import { LifeboatError } from '../util/errors.js';

export function parsePort(value: string, flag: string): number {
  const port = Number(value);
  if (value.trim() === '' || !Number.isInteger(port) || port < 0 || port > 65535)
    throw new LifeboatError('usage', `${flag}: expected a port 0-65535, got "${value}"`);
  return port;
}
