/** Small shapes shared by the evidence schemas (kept apart so that they import each other without a cycle). */
import { z } from 'zod';

/** An ISO 8601 time with its offset, as the host-side collectors print it. */
export const IsoTime = z.string().datetime({ offset: true });

/** How a probe checks its target. */
export const ProbeKind = z.enum(['http', 'tcp', 'db']);
export type ProbeKind = z.infer<typeof ProbeKind>;
