/** The remediation API's request bodies (SPEC §10). */
import { z } from 'zod';

const Approver = z.string().trim().min(1, 'is required: the name of the person deciding').max(128);

export const ApproveRequest = z
  .object({
    approver: Approver,
    /** Step ids to approve; without it every step but the high-risk ones (those must be listed). */
    steps: z.array(z.string().regex(/^s\d{1,3}$/, 'must be a step id such as s1')).min(1).max(64).optional(),
  })
  .strict();
export type ApproveRequest = z.infer<typeof ApproveRequest>;

export const RejectRequest = z
  .object({
    approver: Approver,
    reason: z.string().trim().max(1000).optional(),
  })
  .strict();
export type RejectRequest = z.infer<typeof RejectRequest>;
