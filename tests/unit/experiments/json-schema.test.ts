import { describe, expect, it } from '@jest/globals';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { experimentJsonSchema } from '../../../src/experiments/schema.js';
import { REPO_ROOT } from '../../fixtures/paths.js';

const FILE = path.join(REPO_ROOT, 'examples/experiments/experiment.schema.json');

/** The published file is the zod schema rendered: `UPDATE_EXPERIMENT_SCHEMA=1` rewrites it after a schema change. */
describe('examples/experiments/experiment.schema.json', () => {
  it('when the zod schema is rendered as JSON Schema, then it equals the published file', async () => {
    const generated = `${JSON.stringify(experimentJsonSchema(), null, 2)}\n`;
    if (process.env.UPDATE_EXPERIMENT_SCHEMA === '1') await writeFile(FILE, generated);
    const published = await readFile(FILE, 'utf8');
    expect(published).toBe(generated);
  });

  it('when the schema is read, then it describes each probe type, the step types and every scenario', () => {
    const text = JSON.stringify(experimentJsonSchema());
    for (const word of ['"http"', '"sql"', '"command"', '"metric"', '"inject"', '"wait"', '"probe"', '"cpu_spike"', '"db_conn_exhaust"', '"leave_for_s"', '"compare_to"']) {
      expect(text).toContain(word);
    }
    const schema = experimentJsonSchema() as { required?: string[]; $schema?: string };
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.required).toEqual(['title', 'targets', 'steady_state', 'method']);
  });
});
