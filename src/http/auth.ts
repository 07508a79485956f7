import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { AuthenticationError } from '../errors.js';

/**
 * Bearer-token check. With a token configured every route but /healthz needs it; config
 * validation guarantees there is one whenever the API listens beyond loopback.
 */
export function requireBearerToken(token: string | undefined): RequestHandler {
  if (!token) return (_req, _res, next) => next();
  const expected = digest(token);
  return (req, res, next) => {
    if (req.path === '/healthz') return next();
    const header = req.get('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    // Compare digests so the comparison is constant-time whatever the lengths.
    if (!match?.[1] || !timingSafeEqual(digest(match[1]), expected)) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      return next(new AuthenticationError('A valid bearer token is required (Authorization: Bearer <CHAOS_API_TOKEN>)'));
    }
    next();
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
