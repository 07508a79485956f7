/**
 * The remediation of an incident (SPEC §10): the plan the diagnosis proposes, who approved which
 * step, what ran on the host and what the verification saw. Persisted in incident.json as
 * `remediation`; every step's state is written before and after it runs, so a coordinator killed
 * mid-way knows which step may have acted and never runs one twice.
 */
import { z } from 'zod';

export const RemedyAction = z.enum(['stop_process', 'restart_service', 'free_path', 'terminate_db_backends', 'remove_qdisc', 'raise_limit']);
export type RemedyAction = z.infer<typeof RemedyAction>;

export const RemedyRisk = z.enum(['low', 'medium', 'high']);
export type RemedyRisk = z.infer<typeof RemedyRisk>;

/**
 * What a fix.sh action does, in a form the coordinator can run: an action of the catalogue and
 * its arguments (values from the evidence; the host scripts validate them again).
 */
export const RemedySpec = z.object({
  action: RemedyAction,
  args: z.array(z.string().max(4096)).max(64),
});
export type RemedySpec = z.infer<typeof RemedySpec>;

export const RemediationStatus = z.enum(['proposed', 'approved', 'applying', 'verifying', 'resolved', 'failed', 'rolled_back', 'rejected', 'expired']);
export type RemediationStatus = z.infer<typeof RemediationStatus>;

export const StepState = z.enum([
  /** Approved (or awaiting approval) and not started. */
  'pending',
  /** Not approved, denied by the policy, or its precondition no longer held. */
  'skipped',
  /** Started: the record says so before the command is sent. */
  'running',
  'done',
  'failed',
  'rolled_back',
  'rollback_failed',
  /** Started before a crash; whether it acted was settled by its verification after the restart. */
  'interrupted',
]);
export type StepState = z.infer<typeof StepState>;

export const RemediationStep = z.object({
  id: z.string(),
  action: RemedyAction,
  args: z.array(z.string()),
  description: z.string(),
  risk: RemedyRisk,
  /** What the rollback does, for the person approving. */
  rollback: z.string(),
  /** The policy's word on this step: auto-applied, needs a human, or denied. */
  policy: z.object({ verdict: z.enum(['auto', 'needs_approval', 'denied']), reason: z.string() }).optional(),
  approved: z.boolean(),
  state: StepState,
  /** Why it was skipped, or what failed. */
  reason: z.string().optional(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  exit_code: z.number().int().nullable(),
  /** The last lines the host printed for this step (apply, then verify or rollback). */
  output_tail: z.string(),
});
export type RemediationStep = z.infer<typeof RemediationStep>;

export const VerificationCheck = z.object({ name: z.string(), ok: z.boolean(), detail: z.string() });
export type VerificationCheck = z.infer<typeof VerificationCheck>;

export const Remediation = z.object({
  status: RemediationStatus,
  /** `approve`: a person approves; `auto`: pre-approved by the run's requester or the policy. */
  mode: z.enum(['approve', 'auto']),
  proposed_at: z.string(),
  /** After this, an unapproved plan is `expired` and nothing runs. */
  expires_at: z.string(),
  approver: z.string().nullable(),
  approved_at: z.string().nullable(),
  rejected_by: z.string().nullable(),
  reason: z.string().nullable(),
  /** How long the verification may take before the fix counts as failed. */
  verify_s: z.number().int().min(1),
  steps: z.array(RemediationStep),
  applied_at: z.string().nullable(),
  verification: z.object({ ok: z.boolean(), at: z.string(), checks: z.array(VerificationCheck) }).nullable(),
  finished_at: z.string().nullable(),
  /**
   * Closed loop: whether the chaos script's own stop had anything left to clean up after the fix
   * (`ran: false`: the fault was already gone and its stop never ran).
   */
  chaos_cleanup: z.object({ ran: z.boolean(), at: z.string(), detail: z.string() }).nullable(),
});
export type Remediation = z.infer<typeof Remediation>;
