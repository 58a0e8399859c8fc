/** docs/parameters.md is the schema's: regenerated, it is the committed page (`npm run docs:params`). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { OUT_PATH, parametersMarkdown } from '../scripts/params_doc.js';
import { parameterSchema } from '../src/config/load.js';

test('docs/parameters.md is current with src/config/schema.ts (npm run docs:params)', () => {
  const page = parametersMarkdown();
  assert.equal(readFileSync(OUT_PATH, 'utf8'), page, 'stale: run `npm run docs:params` and commit docs/parameters.md');
  for (const name of ['safety.damping_injection', 'safety.joint_damping', 'mesh_search_path', 'model_based.max_on_policy_fraction']) {
    assert.ok(parameterSchema(name), name);
    assert.match(page, new RegExp(`\\| \`${name.replace('.', '\\.')}\` \\|`), `${name} has a row`);
  }
  assert.match(page, /\| `model_based\.on_policy_fraction` \| `0\.5` \| a number >= 0 and <= 1 \| .*settable while the node runs/);
});
