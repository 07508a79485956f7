/**
 * Writes the Postman collection generated from the OpenAPI document:
 *
 *   npm run build && node dist/src/http/postman-cli.js [output path]
 *
 * Default output: examples/postman/chaos-handler.postman_collection.json (relative to the current
 * directory: run it from the repository root).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildOpenApi } from './openapi.js';
import { buildPostmanCollection, COLLECTION_PATH, serializeCollection } from './postman.js';

/** The version is left out of the collection on purpose: a release must not make it drift. */
export function generateCollectionText(): string {
  return serializeCollection(buildPostmanCollection(buildOpenApi('0.0.0')));
}

async function main(argv: string[]): Promise<void> {
  const out = path.resolve(argv[0] ?? COLLECTION_PATH);
  await mkdir(path.dirname(out), { recursive: true });
  await writeFile(out, generateCollectionText());
  console.log(`Wrote ${path.relative(process.cwd(), out) || out}`);
}

const isEntry = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isEntry) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(`postman-cli: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
