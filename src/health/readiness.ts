// Health checks, as load balancers and orchestrators ask them:
//   live:  the process answers (nothing else is checked: restarting a process whose database is
//          down would not bring the database back);
//   ready: it can serve requests now: every region's metadata database and the identity database
//          answer a query, the data directory takes a write, and shutdown has not begun.
// Each check is bounded in time: a database that hangs makes the node unready, not the probe.
import { randomBytes } from 'node:crypto';
import { unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Services } from '../ops/operation.ts';

export interface CheckResult {
  name: string;
  ok: boolean;
  /** why it failed (an error message; never a path outside the data root, never a secret) */
  error?: string;
}

export interface Readiness {
  ready: boolean;
  checks: CheckResult[];
}

export const CHECK_TIMEOUT_MS = 2_000;

async function bounded(name: string, check: () => Promise<unknown>): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
  });
  try {
    await Promise.race([check(), timeout]);
    return { name, ok: true };
  } catch (err) {
    return { name, ok: false, error: (err as Error).message ?? String(err) };
  } finally {
    clearTimeout(timer);
  }
}

/** A name no organisation can have (organisation names are DNS labels): the query finds nothing. */
const PROBE_ORG = '~health-probe';
const PROBE_KEY = '~HEALTHPROBE';

export async function readiness(services: Services, shuttingDown: boolean): Promise<Readiness> {
  const checks: Promise<CheckResult>[] = [
    Promise.resolve<CheckResult>(shuttingDown ? { name: 'shutdown', ok: false, error: 'shutting down' } : { name: 'shutdown', ok: true }),
    bounded('identity-database', () => services.identity.engine.read.key(PROBE_KEY)),
  ];
  for (const [region, store] of services.regions) checks.push(bounded(`metadata-database:${region}`, () => store.meta.read.usage(PROBE_ORG)));
  checks.push(
    bounded('data-directory-writable', async () => {
      const probe = join(services.config.dataDir, `.ready-probe-${process.pid}-${randomBytes(4).toString('hex')}`);
      await writeFile(probe, 'ok', { mode: 0o600 });
      await unlink(probe);
    }),
  );
  const results = await Promise.all(checks);
  return { ready: results.every((c) => c.ok), checks: results };
}
