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
};

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
    const e = error as { name?: string; message?: string; status?: number; type?: string; field?: string; stack?: string };
    let status = (e.name && STATUS_BY_NAME[e.name]) || 500;
    // body-parser's own errors carry a status and a type.
    if (e.type === 'entity.too.large') status = 413;
    else if (e.type === 'entity.parse.failed' || e.type === 'charset.unsupported' || e.type === 'encoding.unsupported') status = 400;
    else if (typeof e.status === 'number' && e.status >= 400 && e.status < 500 && status === 500) status = e.status;

    const problem: Problem & { stack?: string } = {
      type: 'about:blank',
      title: TITLE_BY_STATUS[status] ?? 'Error',
      status,
      detail:
        status === 413
          ? 'The request body is larger than this server accepts'
          : status === 400 && e.type === 'entity.parse.failed'
            ? 'The request body is not valid JSON'
            : status >= 500
              ? 'The coordinator hit an internal error; see its log'
              : (e.message ?? 'Error'),
      ...(status === 400 && e.field ? { errors: [{ field: e.field, message: e.message ?? '' }] } : {}),
    };
    if (status >= 500) {
      log.error({ err: error, method: req.method, path: req.path }, 'Request failed');
      if (showStacks && e.stack) problem.stack = e.stack;
    }
    res.status(status).type('application/problem+json').send(JSON.stringify(problem));
  };
}
