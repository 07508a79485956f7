import { createRequire } from 'node:module';
import path from 'node:path';
import express, { Router, type Response } from 'express';
import { setStaticHeaders } from '../dashboard/dashboard-router.js';
import { dashboardStaticDir } from '../dashboard/static-dir.js';

/** Swagger UI sets inline styles and uses data: images; it runs no inline script and no eval. */
export const DOCS_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Only the files the page loads: the bundle, its CSS and icons (no petstore initializer). */
const SWAGGER_FILES = new Set(['swagger-ui-bundle.js', 'swagger-ui.css', 'favicon-32x32.png', 'favicon-16x16.png']);

export function swaggerUiDir(): string {
  return path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
}

/**
 * `GET /docs`: Swagger UI on /openapi.json, every asset served from this process (swagger-ui-dist).
 * Public like the dashboard; the page itself sends the bearer token when the API needs one.
 */
export function createDocsRouter(staticDir: string = dashboardStaticDir(), swaggerDir: string = swaggerUiDir()): Router {
  const router = Router();
  router.get('/docs', (req, res) => {
    // Relative asset URLs need the trailing slash.
    if (!req.originalUrl.split('?')[0]!.endsWith('/')) return res.redirect(301, '/docs/');
    setStaticHeaders(res, DOCS_CSP);
    res.sendFile(path.join(staticDir, 'docs.html'));
  });
  const assets = express.static(swaggerDir, { index: false, dotfiles: 'ignore', setHeaders: (res) => setStaticHeaders(res as Response, DOCS_CSP) });
  router.use('/docs/assets', (req, res, next) => (SWAGGER_FILES.has(req.path.slice(1)) ? assets(req, res, next) : next()));
  return router;
}
