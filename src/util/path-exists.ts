/** Whether a path exists, for refusals made before anything is written. */
import { stat } from 'node:fs/promises';

/** True when `file` is there (of any type); any error but "not there" is thrown. */
export async function pathExists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return false;
      throw err;
    },
  );
}
