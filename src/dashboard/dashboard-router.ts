import path from 'node:path';
import express, { Router, type Response } from 'express';
import { dashboardStaticDir } from './static-dir.js';

/**
 * The dashboard's policy: its own scripts, styles and images only, no inline script or style
 * element, no framing, API calls to this origin. Host text is inserted with textContent.
 */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers every static page and asset of ours carries. */
export function setStaticHeaders(res: Response, csp: string): void {
  res.setHeader('Content-Security-Policy', csp);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Frame-Options', 'DENY');
  // Small files that change with the code: revalidate, never serve a stale dashboard.
  res.setHeader('Cache-Control', 'no-cache');
}

/**
 * `GET /` (the page) and `/dashboard/*` (its scripts and styles). Public even when the API has a
 * token: the files hold no data, and a browser cannot add a header to a navigation. The page
 * asks for the token and sends it with every API call.
 *
 * `/` answers with the page only when the client asks for HTML (every browser navigation does):
 * API clients keep getting the API's 404 there, so a path a client normalises to `/` (such as
 * `/status/%2e%2e`) never looks like a success.
 */
export function createDashboardRouter(staticDir: string = dashboardStaticDir()): Router {
  const router = Router();
  const serveStatic = express.static(staticDir, {
    index: false,
    dotfiles: 'ignore',
    fallthrough: true,
    setHeaders: (res) => setStaticHeaders(res as Response, DASHBOARD_CSP),
  });
  router.get('/', (req, res, next) => {
    if (!/\btext\/html\b/i.test(req.get('accept') ?? '')) return next();
    setStaticHeaders(res, DASHBOARD_CSP);
    res.vary('Accept');
    res.sendFile(path.join(staticDir, 'index.html'));
  });
  router.use('/dashboard', serveStatic);
  return router;
}
