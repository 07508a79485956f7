import type { ErrorRequestHandler } from 'express';
import type { z } from 'zod';
import type { Logger } from '../logger.js';

const STATUS_BY_NAME: Record<string, number> = {
  InputError: 400,
  AuthenticationError: 401,
  NotAllowedError: 403,
  HostKeyMismatchError: 403,
  NotFoundError: 404,
  ConflictError: 409,
  TimeoutError: 504,
  RemoteCommandError: 502,
  SshConnectionError: 502,
};

const TITLE_BY_STATUS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  504: 'Gateway Timeout',
};

export type Problem = {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: { field: string; message: string }[];
  /** Why a target could not be reached, for scripts: see sshFailure. */
  reason?: SshFailureReason;
};

export type SshFailureReason = 'refused' | 'timed_out' | 'unreachable' | 'host_key_mismatch' | 'auth_failed' | 'handshake_failed' | 'connection_lost';

type SshFailureLike = { name?: string; message?: string; kind?: string; host?: string; port?: number; reason?: string; cause?: unknown };

/**
 * A failure to reach a target, said in words a user can act on: refused, timed out, unreachable,
 * host key not trusted, key refused. Built from the error's kind and the socket's error code only,
 * never from a stack or the key: what the caller learns is what `ssh -v` would tell them.
 */
export function sshFailure(e: SshFailureLike): { reason: SshFailureReason; detail: string } | null {
  const where = e.host !== undefined && e.port !== undefined ? `${e.host}:${e.port}` : 'the target';
  if (e.name === 'HostKeyMismatchError') {
    const why = e.reason === 'unknown' ? 'no host key is enrolled for it' : e.reason === 'revoked' ? 'the key it presented is revoked' : 'the key it presented is not the enrolled one';
    return { reason: 'host_key_mismatch', detail: `${e.message}: ${why}; no session was opened (re-enrol the host if its key really changed)` };
  }
  if (e.name !== 'SshConnectionError') return null;
  const code = (e.cause as { code?: string } | undefined)?.code;
  switch (e.kind) {
    case 'connect':
      if (code === 'ECONNREFUSED') return { reason: 'refused', detail: `SSH connection to ${where} refused: nothing listens on that port` };
      if (code === 'ETIMEDOUT') return { reason: 'timed_out', detail: `SSH connection to ${where} timed out` };
      if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'EHOSTDOWN') return { reason: 'unreachable', detail: `${where} is unreachable (${code})` };
      return { reason: 'unreachable', detail: `cannot connect to ${where}${code ? ` (${code})` : ''}` };
    case 'handshake':
      if (/timed out/.test(e.message ?? '')) return { reason: 'timed_out', detail: `SSH handshake with ${where} timed out: the port answers but no SSH server replied in time` };
      return { reason: 'handshake_failed', detail: `SSH handshake with ${where} failed` };
    case 'auth':
      return { reason: 'auth_failed', detail: `SSH authentication to ${where} failed: the host refused the key` };
    default:
      return { reason: 'connection_lost', detail: `SSH connection to ${where} was lost` };
  }
}

/** A zod error as problem+json, each issue naming its field (`options.duration`). */
export function validationProblem(error: z.ZodError, prefix = ''): Problem {
  const errors = error.issues.flatMap((issue) => flattenIssue(issue, prefix));
  return {
    type: 'about:blank',
    title: 'Bad Request',
    status: 400,
    detail: errors.map((e) => `${e.field}: ${e.message}`).join('; '),
    errors,
  };
}

function flattenIssue(issue: z.core.$ZodIssue, prefix: string): { field: string; message: string }[] {
  const field = [prefix, ...issue.path.map(String)].filter(Boolean).join('.') || '(body)';
  if (issue.code === 'unrecognized_keys') return issue.keys.map((k) => ({ field: field === '(body)' ? k : `${field}.${k}`, message: 'is not a known field' }));
  if (issue.code === 'invalid_union' && 'note' in issue && issue.note === 'No matching discriminator') {
    return [{ field, message: issue.message }];
  }
  return [{ field, message: issue.message }];
}

/**
 * The one error middleware: maps `error.name` to a status, answers problem+json, logs only 5xx,
 * and never shows a stack outside development (Backstage's errorHandler).
 */
export function errorHandler(log: Logger, showStacks: boolean): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) return next(error);
    const e = error as SshFailureLike & { status?: number; type?: string; field?: string; stack?: string };
    let status = (e.name && STATUS_BY_NAME[e.name]) || 500;
    // body-parser's own errors carry a status and a type.
    if (e.type === 'entity.too.large') status = 413;
    else if (e.type === 'entity.parse.failed' || e.type === 'charset.unsupported' || e.type === 'encoding.unsupported') status = 400;
    else if (typeof e.status === 'number' && e.status >= 400 && e.status < 500 && status === 500) status = e.status;

    const ssh = sshFailure(e);
    const problem: Problem & { stack?: string } = {
      type: 'about:blank',
      title: TITLE_BY_STATUS[status] ?? 'Error',
      status,
      detail: ssh
        ? ssh.detail
        : status === 413
          ? 'The request body is larger than this server accepts'
          : status === 400 && e.type === 'entity.parse.failed'
            ? 'The request body is not valid JSON'
            : status >= 500
              ? 'The coordinator hit an internal error; see its log'
              : (e.message ?? 'Error'),
      ...(ssh ? { reason: ssh.reason } : {}),
      ...(status === 400 && e.field ? { errors: [{ field: e.field, message: e.message ?? '' }] } : {}),
    };
    if (ssh) {
      // The target's fault or its configuration, not ours: a warning with the reason, no stack.
      log.warn({ reason: ssh.reason, detail: ssh.detail, method: req.method, path: req.path }, 'Target could not be reached');
    } else if (status >= 500) {
      log.error({ err: error, method: req.method, path: req.path }, 'Request failed');
    }
    if (status >= 500 && !ssh && showStacks && e.stack) problem.stack = e.stack;
    res.status(status).type('application/problem+json').send(JSON.stringify(problem));
  };
}
