/**
 * `colorgan serve`: the HTTP API (src/service/http.ts) on a port, until SIGINT/SIGTERM,
 * which stop it gracefully (new requests refused, admitted ones answered); a second
 * signal exits at once.
 */
import { parseCommandLine, usageText } from '../util/options.js';
import { SERVE_SCHEMA } from '../service/options.js';
import { runUntilSignal } from './signals.js';

export const SERVE_USAGE = `${usageText(
  `Usage: colorgan serve [--port P] [--host ADDR] [--concurrency N] [options]

An HTTP API: POST /v1/colorize (the photo as the body; query: format, quality, seed,
samples, saturation, renderSize, upsample), GET /healthz, GET /metrics.`,
  SERVE_SCHEMA,
)}
Example: curl -s --data-binary @photo.jpg 'http://127.0.0.1:8080/v1/colorize?format=png' > out.png`;

export async function serveCommand(argv: string[]): Promise<number> {
  const { values, help } = parseCommandLine(SERVE_SCHEMA, argv);
  if (help) {
    console.log(SERVE_USAGE);
    return 0;
  }
  const { startService } = await import('../service/http.js');
  const service = await startService(values);
  console.log(`colorgan serve: listening on ${service.url} (${service.concurrency} colorize threads; ${service.backend})`);
  return runUntilSignal('the requests in progress, refusing new ones', () => service.close());
}
