import { SingleBar } from 'cli-progress';
import type { ReadProgress } from '../../layers/cloudtrail/reader';

/** The bar appears only once a read has taken this long: short reads print nothing. */
const SHOW_AFTER_MS = 400;

/**
 * A progress bar on stderr for a long read, on a terminal only (never in pipes or CI
 * logs). It follows bytes read, compressed or not, so a folder of .json.gz files
 * holding 500k records shows progress as well as one large file does.
 */
export function readProgress(
  label: string,
  enabled = true,
): { onProgress: (progress: ReadProgress) => void; stop: () => void } {
  if (!enabled || !process.stderr.isTTY) return { onProgress: () => {}, stop: () => {} };
  const startedAt = Date.now();
  let bar: SingleBar | undefined;
  let lastUpdate = 0;
  return {
    onProgress: ({ bytesRead, bytesTotal, records }) => {
      const now = Date.now();
      const payload = { records, mb: (bytesRead / 1e6).toFixed(1), totalMb: (bytesTotal / 1e6).toFixed(1) };
      if (!bar) {
        if (now - startedAt < SHOW_AFTER_MS || bytesRead >= bytesTotal) return;
        bar = new SingleBar({
          stream: process.stderr,
          format: `${label} [{bar}] {percentage}% | {records} records | {mb}/{totalMb} MB`,
          hideCursor: true,
          clearOnComplete: true,
        });
        bar.start(Math.max(bytesTotal, 1), bytesRead, payload);
      } else if (bytesRead >= bytesTotal || now - lastUpdate > 100) {
        bar.update(bytesRead, payload);
        lastUpdate = now;
      }
    },
    stop: () => bar?.stop(),
  };
}
