/**
 * Why no PDF can be made. The caller still writes report.md and records this error's message in
 * the trace, so the message says what to do about it.
 *
 * Kept next to the renderer rather than in src/errors.ts because nothing else throws it; it
 * follows the same conventions (`name` = class name, `cause` kept, domain data carried).
 */
export type BrowserUnavailableReason = 'not_found' | 'launch_failed' | 'closed';

const INSTALL_HINT = 'install it with "apt-get install chromium" (Debian/Ubuntu) or configure the path to a Chromium/Chrome binary';

function describe(reason: BrowserUnavailableReason, executablePath: string | null, cause: unknown): string {
  switch (reason) {
    case 'not_found':
      return `No Chromium browser found for PDF rendering${executablePath ? ` (configured: ${executablePath})` : ''}; ${INSTALL_HINT}`;
    case 'launch_failed': {
      const detail = cause instanceof Error ? `: ${cause.message.split('\n')[0]}` : '';
      return `Chromium at ${executablePath ?? '(unknown)'} failed to start${detail}; check the installation ("apt-get install chromium")`;
    }
    case 'closed':
      return 'The PDF renderer has been closed';
  }
}

export class BrowserUnavailableError extends Error {
  constructor(
    readonly reason: BrowserUnavailableReason,
    readonly executablePath: string | null,
    options?: { cause?: unknown },
  ) {
    super(describe(reason, executablePath, options?.cause), options);
    this.name = new.target.name;
  }
}
