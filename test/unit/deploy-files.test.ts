// The deployment files must stay true to the code: every STRATA_* variable that
// docker-compose.yml and the Dockerfile set is one the configuration knows, and each compose
// service's environment is a valid configuration.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { envNames, loadConfig } from '../../src/config.ts';

const root = join(__dirname, '..', '..');

function variables(text: string): Map<string, string> {
  const vars = new Map<string, string>();
  for (const m of text.matchAll(/\b(STRATA_[A-Z_]+)\s*[:=]\s*([^\s\\]+)/g)) vars.set(m[1], m[2]);
  return vars;
}

describe('deployment files', () => {
  for (const file of ['docker-compose.yml', 'Dockerfile']) {
    it(`${file} sets only known, valid settings`, () => {
      const vars = variables(readFileSync(join(root, file), 'utf8'));
      expect(vars.size).toBeGreaterThan(2);
      for (const name of vars.keys()) expect(Object.keys(envNames), `${file}: ${name}`).toContain(name);
      const env = Object.fromEntries([...vars].map(([k, v]) => [k, k === 'STRATA_DATA_DIR' ? '/tmp/strata-compose-check' : v]));
      for (const region of ['lga1', 'ord1', 'las1']) {
        const config = loadConfig({ env: file === 'docker-compose.yml' ? { ...env, STRATA_REGIONS: region } : env, flags: {} });
        expect(config.regions).toEqual(file === 'docker-compose.yml' ? [region] : ['lga1', 'ord1', 'las1']);
      }
    });
  }

  it('documents every compose port in the README', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    for (const port of ['9101', '9201', '9301']) expect(readme).toContain(port);
  });
});
