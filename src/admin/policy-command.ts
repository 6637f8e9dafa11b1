// strata policy explain --bucket B [--key K] --action s3:GetObject (--as USER | --anonymous)
//   [--region R] [--source-ip IP] [--secure] [--header 'name: value'] [--prefix P] [--version-id V] [-o json]
// On the data root (stores and identity opened beside a running server, as `strata usage` does),
// or with --server URL --token TOKEN (STRATA_ADMIN_URL / STRATA_ADMIN_TOKEN) through the admin
// API's POST /v1/policy/explain. Exit status: 0 when allowed, 1 when denied, 2 on bad usage.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../config.ts';
import { loadOrCreateMasterKey, openIdentityStore } from '../identity/identity-store.ts';
import { openRegionStores } from '../store/open.ts';
import { ExplainError } from './explain-error.ts';
// Types only: the explanation itself (and the operations it loads) is imported when used.
import type { AccessExplanation, ExplainInput } from './policy-explain.ts';

export const policyUsage = `
policy explain (what the server would decide for one request, and why):
  policy explain --bucket B [--key K] --action s3:GetObject (--as [NS/]USER|ACCESS_KEY | --anonymous)
                 [--region R] [--source-ip IP] [--secure] [--header 'Name: value'] [--prefix P]
                 [--version-id V] [-o json] [--server URL --token TOKEN]
`;

const known = new Set(['bucket', 'key', 'action', 'as', 'anonymous', 'region', 'source-ip', 'secure', 'header', 'prefix', 'delimiter', 'version-id', 'o', 'output', 'server', 'token', 'data-dir', 'config', 'regions', 'default-region']);

class UsageError extends Error {}

export function explainInputFromFlags(flags: Record<string, string>): ExplainInput {
  for (const name of Object.keys(flags)) if (!known.has(name)) throw new UsageError(`unknown flag --${name}`);
  if (!flags.bucket || flags.bucket === 'true') throw new UsageError('--bucket is required');
  if (!flags.action || flags.action === 'true') throw new UsageError('--action is required (e.g. s3:GetObject)');
  const anonymous = flags.anonymous === 'true';
  if (anonymous === (flags.as !== undefined)) throw new UsageError('say who asks: --as USER (NAMESPACE/NAME, a user name or an access key) or --anonymous');
  const headers: Record<string, string> = {};
  if (flags.header !== undefined) {
    const colon = flags.header.indexOf(':');
    if (colon <= 0) throw new UsageError(`--header must look like 'Name: value', got ${JSON.stringify(flags.header)}`);
    headers[flags.header.slice(0, colon).trim().toLowerCase()] = flags.header.slice(colon + 1).trim();
  }
  const query: Record<string, string> = {};
  if (flags.prefix !== undefined) query.prefix = flags.prefix;
  if (flags.delimiter !== undefined) query.delimiter = flags.delimiter;
  if (flags['version-id'] !== undefined) query.versionId = flags['version-id'];
  return {
    bucket: flags.bucket,
    key: flags.key,
    action: flags.action,
    region: flags.region,
    as: flags.as,
    anonymous,
    sourceIp: flags['source-ip'],
    secure: flags.secure === 'true',
    headers,
    query,
  };
}

const yes = (b: boolean) => (b ? 'yes' : 'no');

/** The explanation as a person reads it. */
export function renderExplanation(e: AccessExplanation): string {
  const r = e.request;
  const who = r.principal === 'anonymous' ? 'anonymous' : `${r.principal.org}/${r.principal.user} (key ${r.principal.accessKey}, level ${r.principal.level})`;
  const lines = [
    `${e.decision === 'Allow' ? 'ALLOWED' : 'DENIED'}: ${r.action} on ${r.resource} in ${r.region}${e.errorCode ? ` (${e.status} ${e.errorCode})` : ''}`,
    `  caller: ${who}, source ${r.sourceIp}, ${r.secureTransport ? 'HTTPS' : 'plain HTTP'}`,
    `  decided by: ${e.decidedBy}: ${e.reason}`,
  ];
  if (e.policy) {
    lines.push(`bucket policy: ${e.policy.decision}`);
    for (const s of e.policy.statements) {
      lines.push(`  [${s.index}]${s.sid ? ` ${s.sid}` : ''} ${s.effect}: ${s.matches ? 'MATCHES' : 'does not match'} (principal ${yes(s.principal)}, action ${yes(s.action)}, resource ${yes(s.resource)})`);
      for (const c of s.conditions) {
        const seen = c.requestValues === null ? 'absent' : JSON.stringify(c.requestValues);
        lines.push(`      ${c.holds ? 'holds ' : 'fails '} ${c.operator} ${c.key} ${JSON.stringify(c.policyValues)}; request had ${seen}`);
      }
    }
  } else if (e.decidedBy !== 'no-such-bucket') lines.push('bucket policy: none');
  if (e.acl) {
    const grants = (g: { grantee: { type: string; id?: string; uri?: string }; permission: string }[]) => (g.length === 0 ? 'none' : g.map((x) => `${x.grantee.id ?? x.grantee.uri} ${x.permission}`).join(', '));
    lines.push(`bucket ACL grants: ${grants(e.acl.bucket)}`);
    if (e.acl.object) lines.push(`object ACL grants: ${grants(e.acl.object)}`);
  }
  if (e.accessLevel) lines.push(`access level: ${e.accessLevel.level}; the operation needs ${e.accessLevel.needs}: ${e.accessLevel.allows ? 'allows' : 'does not allow'}`);
  if (e.blockPublicAccess) {
    const on = Object.entries(e.blockPublicAccess.settings).filter(([, v]) => v).map(([k]) => k);
    lines.push(`block public access: ${on.join(', ') || 'off'}; ${e.blockPublicAccess.decided ? `decided (without it: ${e.blockPublicAccess.withoutIt})` : 'did not change the answer'}`);
  }
  return lines.join('\n') + '\n';
}

async function explainLocally(flags: Record<string, string>, input: ExplainInput): Promise<AccessExplanation> {
  const config = loadConfig({ flags: Object.fromEntries(Object.entries(flags).filter(([k]) => ['data-dir', 'config', 'regions', 'default-region'].includes(k))) });
  const marker = config.metadataUrl ? 'master.key' : 'identity.db';
  if (!existsSync(join(config.dataDir, marker))) throw new ExplainError(400, 'NoDataRoot', `no Strata data root at ${config.dataDir} (${marker} not found); set STRATA_DATA_DIR or --data-dir, or use --server URL --token TOKEN`);
  const { explainAccess, findPrincipal } = await import('./policy-explain.ts');
  // No recover(): the running server may have uploads in flight in the same data root.
  const stores = await openRegionStores(config);
  try {
    const identity = await openIdentityStore({ dataDir: config.dataDir, masterKey: loadOrCreateMasterKey(config.dataDir), database: stores.database });
    try {
      const principal = input.as !== undefined ? await findPrincipal(identity, input.as) : undefined;
      return await explainAccess({ config, identity, regions: stores.regions }, input, principal);
    } finally {
      await identity.close();
    }
  } finally {
    await stores.close();
  }
}

async function explainRemotely(server: string, token: string, input: ExplainInput): Promise<AccessExplanation> {
  let res: Response;
  try {
    res = await fetch(new URL('/v1/policy/explain', server), { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(input) });
  } catch (err) {
    throw new ExplainError(503, 'Unavailable', `cannot reach the admin API at ${server}: ${((err as { cause?: Error }).cause ?? (err as Error)).message}`);
  }
  const body = (await res.json().catch(() => ({}))) as AccessExplanation & { error?: { code: string; message: string } };
  if (!res.ok) throw new ExplainError(res.status, body.error?.code ?? 'Error', body.error?.message ?? `the admin API answered ${res.status}`);
  return body;
}

export async function runPolicyCommand(command: string, args: string[], flags: Record<string, string>): Promise<number | undefined> {
  if (command !== 'policy') return undefined;
  if (args[0] !== 'explain') {
    process.stderr.write(`usage:${policyUsage}`);
    return 2;
  }
  try {
    const input = explainInputFromFlags(flags);
    const server = flags.server ?? process.env.STRATA_ADMIN_URL;
    const token = flags.token ?? process.env.STRATA_ADMIN_TOKEN;
    const explanation = server ? await explainRemotely(server, token ?? '', input) : await explainLocally(flags, input);
    const output = flags.o ?? flags.output;
    process.stdout.write(output === 'json' ? JSON.stringify(explanation, null, 2) + '\n' : renderExplanation(explanation));
    return explanation.decision === 'Allow' ? 0 : 1;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`strata policy explain: ${err.message}\n${policyUsage}`);
      return 2;
    }
    if (err instanceof ExplainError) {
      process.stderr.write(`strata policy explain: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}
