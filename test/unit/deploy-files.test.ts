// The deployment files must stay true to the code: every STRATA_* variable that
// docker-compose.yml and the Dockerfile set is one the configuration knows, and each compose
// service's environment is a valid configuration.
import { execFileSync } from 'node:child_process';
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

  it('renders the Kubernetes example with kubectl kustomize: nodes over PostgreSQL on a shared volume', () => {
    const rendered = execFileSync('kubectl', ['kustomize', join(root, 'deploy', 'kubernetes')], { encoding: 'utf8' });
    const docs = rendered.split(/^---$/m).map((d) => d.trim());
    const kind = (k: string) => docs.filter((d) => new RegExp(`^kind: ${k}$`, 'm').test(d));
    const [deployment] = kind('Deployment');
    expect(deployment).toMatch(/replicas: 3/);
    expect(deployment).toMatch(/claimName: strata-data/);
    expect(deployment).toMatch(/secretRef:\s+name: strata/);
    expect(kind('PersistentVolumeClaim')[0]).toMatch(/- ReadWriteMany/);
    expect(kind('Service')).toHaveLength(2);
    // Every setting the example gives (Secret and container env) is a valid configuration.
    const env: Record<string, string> = { STRATA_DATA_DIR: '/tmp/strata-kube-check' };
    for (const m of kind('Secret')[0].matchAll(/^\s+(STRATA_[A-Z_]+): (\S+)$/gm)) env[m[1]] = m[2];
    for (const m of deployment.matchAll(/- name: (STRATA_[A-Z_]+)\s+value: (\S+)/g)) if (m[1] !== 'STRATA_DATA_DIR') env[m[1]] = m[2];
    for (const name of Object.keys(env)) expect(Object.keys(envNames), name).toContain(name);
    expect(loadConfig({ env, flags: {} }).metadataUrl).toMatch(/^postgres:\/\//);
  });
});
