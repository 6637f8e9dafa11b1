// Admin subcommands of the strata CLI, mirroring the seed's kubectl commands:
//
//   strata apply -f object-storage-crd.yaml            create / configure users from manifests
//   strata get users.objectstorage.coreweave.com       list users (also: get users, get user NAME)
//   strata get secrets [NAME] [-o jsonpath=...|json|yaml|name]
//   strata delete users.objectstorage.coreweave.com NAME   (or: delete -f FILE)
//   strata token create --namespace ns1,ns2 [--name N] | --all-namespaces
//   strata token list | strata token revoke ID
//   strata s3cmd-config --user NAME [--namespace NS] [--region R] [--endpoint HOST:PORT] [--https] [--path-style]
//
// By default they act on the data root (STRATA_DATA_DIR or --data-dir), with or without a
// running server; the server sees every change at once. With --server URL --token TOKEN (or
// STRATA_ADMIN_URL / STRATA_ADMIN_TOKEN) they go through the admin API instead.
// Returns undefined for a command it does not know, so the CLI can report it.
import { readFileSync } from 'node:fs';
import { ConfigError, loadConfig } from '../config.ts';
import { TokenError } from '../identity/admin-tokens.ts';
import { ManifestError, parseUserManifests, userResource, userResourcePlural, type SecretObject, type UserObject } from '../identity/manifest.ts';
import { IdentityError } from '../identity/users.ts';
import { ApiBackend, LocalBackend, NoDataRootError, type AdminBackend } from './backend.ts';
import { humanAge, OutputError, parseOutput, renderObject, table, type OutputFormat } from './format.ts';
import { S3cmdConfigError, s3cmdConfig } from './s3cmd.ts';
import { KubeconfigError, kubeconfigCommand } from '../kube/kubeconfig.ts';

export const adminUsage = `admin commands (kubectl-style; act on STRATA_DATA_DIR, or on --server URL --token TOKEN):
  apply -f FILE [-n NS]                     create or update users from User manifests (FILE "-" = stdin)
  get users.objectstorage.coreweave.com [NAME...] [-n NS] [-o json|yaml|name|jsonpath=TEMPLATE]
  get secrets [NAME...] [-n NS] [-o ...]    a user's credentials (base64 in .data.accessKey/.data.secretKey)
  delete users.objectstorage.coreweave.com NAME... [-n NS]   (or: delete -f FILE)
  token create (--namespace NS1,NS2 | --all-namespaces | --blank) [--name NAME] [-o json]
  token list [-o json] | token revoke ID    organisation-admin API tokens for the admin API
  s3cmd-config --user NAME [--namespace NS] [--region REGION] [--endpoint HOST:PORT] [--https] [--path-style]
  kubeconfig --token TOKEN [--namespace NS] [--server ADMIN_URL]   a kubeconfig for kubectl (> cw-kubeconfig)
common flags: --data-dir DIR, --config FILE, --server URL, --token TOKEN
`;

/** Flags that configure where the data root is (passed to loadConfig). */
const configFlags = ['data-dir', 'config', 'port', 'base-domain', 'regions', 'default-region'];
const accessFlags = ['server', 'token'];
const booleanFlags = new Set(['https', 'path-style', 'all-namespaces', 'A', 'help', 'h', 'blank']);

class UsageError extends Error {}

interface Ctx {
  positional: string[];
  flags: Record<string, string>;
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
}

/**
 * Normalise the generic parser's output: boolean flags that swallowed the next word give it
 * back; `-A`, `-ojson`, `-o=json`, `-nNS` written as one word are understood; anything else
 * unknown is refused (a typo must not be silently ignored).
 */
function normalise(positional: string[], flags: Record<string, string>, allowed: string[]): { positional: string[]; flags: Record<string, string> } {
  const pos: string[] = [];
  const f: Record<string, string> = {};
  const aliases: Record<string, string> = { n: 'namespace', o: 'output', f: 'filename', A: 'all-namespaces', h: 'help', file: 'filename' };
  for (const [rawName, value] of Object.entries(flags)) {
    const name = aliases[rawName] ?? rawName;
    if (booleanFlags.has(rawName) || booleanFlags.has(name)) {
      if (value === 'true' || value === 'false') f[name] = value;
      else {
        f[name] = 'true';
        pos.push(value);
      }
    } else f[name] = value;
  }
  for (const p of positional) {
    if (p === '-A') f['all-namespaces'] = 'true';
    else if (p === '-h') f.help = 'true';
    else if (/^-o=?./.test(p)) f.output = p.replace(/^-o=?/, '');
    else if (/^-n=?./.test(p)) f.namespace = p.replace(/^-n=?/, '');
    else if (p === '-f' || p === '-n' || p === '-o') throw new UsageError(`flag ${p} needs an argument`);
    else if (p.startsWith('-') && p !== '-') throw new UsageError(`unknown flag ${p}`);
    else pos.push(p);
  }
  for (const name of Object.keys(f)) {
    if (!allowed.includes(name) && !configFlags.includes(name) && !accessFlags.includes(name) && name !== 'help') throw new UsageError(`unknown flag --${name}`);
  }
  return { positional: pos, flags: f };
}

async function openBackend(flags: Record<string, string>, options: { create: boolean }): Promise<AdminBackend> {
  const server = flags.server ?? process.env.STRATA_ADMIN_URL;
  const token = flags.token ?? process.env.STRATA_ADMIN_TOKEN;
  if (flags.server !== undefined && token === undefined) throw new UsageError('--server needs --token TOKEN (or STRATA_ADMIN_TOKEN)');
  if (flags.token !== undefined && server === undefined) throw new UsageError('--token needs --server URL (or STRATA_ADMIN_URL)');
  if (server !== undefined && token !== undefined && server !== '' && token !== '') return new ApiBackend(server, token);
  const cf: Record<string, string> = {};
  for (const k of configFlags) if (flags[k] !== undefined) cf[k] = flags[k];
  return LocalBackend.open(loadConfig({ flags: cf }), options);
}

const userNames = new Set(['users', 'user', userResourcePlural, userResource, 'users.objectstorage.coreweave.com/v1alpha1']);
const secretNames = new Set(['secrets', 'secret']);

/** `users`, `secrets`, or `TYPE/NAME` → resource kind and names. */
function resourceArgs(args: string[], verb: string): { kind: 'users' | 'secrets'; names: string[] } {
  if (args.length === 0) throw new UsageError(`you must specify the type of resource to ${verb}: ${userResourcePlural} or secrets`);
  let [type, ...names] = args;
  if (type.includes('/')) {
    const i = type.indexOf('/');
    names = [type.slice(i + 1), ...names];
    type = type.slice(0, i);
    for (const n of names.slice(1)) if (!n.startsWith(type + '/')) throw new UsageError('there is no need to specify a resource type as a separate argument when passing arguments in resource/name form');
    names = [names[0], ...names.slice(1).map((n) => n.slice(type.length + 1))];
  }
  if (userNames.has(type)) return { kind: 'users', names };
  if (secretNames.has(type)) return { kind: 'secrets', names };
  throw new UsageError(`the server doesn't have a resource type "${type}" (Strata serves ${userResourcePlural} and secrets)`);
}

function readManifestFile(file: string): string {
  try {
    const text = readFileSync(file === '-' ? 0 : file, 'utf8');
    if (Buffer.byteLength(text) > 1024 * 1024) throw new UsageError(`${file}: manifest files are limited to 1 MiB`);
    return text;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const e = err as NodeJS.ErrnoException;
    throw new UsageError(`the path "${file}" cannot be read: ${e.code === 'ENOENT' ? 'no such file or directory' : e.message}`);
  }
}

function userRow(u: UserObject): string[] {
  return [u.metadata.name, u.spec.owner, u.spec.access, u.status.objectStorageAccess, u.status.objectStorageId];
}

function secretRow(s: SecretObject, now: number): string[] {
  return [s.metadata.name, s.type, String(Object.keys(s.data).length), humanAge(now - Date.parse(s.metadata.creationTimestamp))];
}

function noResources(ctx: Ctx, namespace: string | undefined): void {
  ctx.err.write(namespace ? `No resources found in ${namespace} namespace.\n` : 'No resources found\n');
}

function printObjects<T>(ctx: Ctx, format: OutputFormat, items: T[], single: boolean, nameOf: (o: T) => string): void {
  const object = single ? items[0] : { apiVersion: 'v1', kind: 'List', items, metadata: { resourceVersion: '' } };
  ctx.out.write(renderObject(format, object, items.map(nameOf)));
}

async function cmdApply(ctx: Ctx): Promise<number> {
  const { positional, flags } = normalise(ctx.positional, ctx.flags, ['filename', 'namespace', 'output']);
  if (flags.help) return help(ctx, 'apply -f FILE [-n NAMESPACE]   (FILE may be "-" for stdin)');
  if (positional.length > 0) throw new UsageError(`unexpected argument "${positional[0]}"; use: strata apply -f FILE`);
  const file = flags.filename;
  if (file === undefined || file === 'true') throw new UsageError('must specify -f FILE (the User manifest, e.g. object-storage-crd.yaml)');
  const output = flags.output === undefined ? undefined : flags.output;
  if (output !== undefined && output !== 'name') throw new UsageError('apply supports -o name only');
  const text = readManifestFile(file);
  // Validate everything before touching any state; the backend applies all or nothing.
  const manifests = parseUserManifests(text, { namespace: flags.namespace, origin: file === '-' ? 'STDIN' : file });
  const backend = await openBackend(flags, { create: true });
  try {
    const outcomes = await backend.applyUsers(manifests, text, flags.namespace);
    for (const o of outcomes) ctx.out.write(output === 'name' ? `${userResource}/${o.user.metadata.name}\n` : `${o.message}\n`);
  } finally {
    await backend.close();
  }
  return 0;
}

async function cmdGet(ctx: Ctx): Promise<number> {
  const { positional, flags } = normalise(ctx.positional, ctx.flags, ['namespace', 'output', 'all-namespaces']);
  if (flags.help) return help(ctx, `get (${userResourcePlural} | secrets) [NAME...] [-n NAMESPACE] [-o json|yaml|name|jsonpath=TEMPLATE]`);
  const { kind, names } = resourceArgs(positional, 'get');
  const format = parseOutput(flags.output);
  const namespace = flags['all-namespaces'] === 'true' ? undefined : flags.namespace;
  const backend = await openBackend(flags, { create: false });
  try {
    if (kind === 'users') {
      let users: UserObject[];
      if (names.length > 0) {
        users = [];
        for (const n of names) users.push(await backend.findUser(n, namespace));
      } else users = await backend.listUsers({ namespace });
      if (format.kind === 'table') {
        if (users.length === 0) noResources(ctx, namespace);
        else ctx.out.write(table(['NAME', 'OWNER', 'ACCESS', 'OBJECT STORAGE ACCESS', 'OBJECT STORAGE ID'], users.map(userRow)));
      } else printObjects(ctx, format, users, names.length === 1, (u) => `${userResource}/${u.metadata.name}`);
    } else {
      let secrets: SecretObject[];
      if (names.length > 0) {
        secrets = [];
        for (const n of names) secrets.push(await backend.getSecret(n, namespace));
      } else secrets = await backend.listSecrets(namespace);
      if (format.kind === 'table') {
        if (secrets.length === 0) noResources(ctx, namespace);
        else {
          const now = Date.now();
          ctx.out.write(table(['NAME', 'TYPE', 'DATA', 'AGE'], secrets.map((s) => secretRow(s, now))));
        }
      } else printObjects(ctx, format, secrets, names.length === 1, (s) => `secret/${s.metadata.name}`);
    }
  } finally {
    await backend.close();
  }
  return 0;
}

async function cmdDelete(ctx: Ctx): Promise<number> {
  const { positional, flags } = normalise(ctx.positional, ctx.flags, ['namespace', 'filename']);
  if (flags.help) return help(ctx, `delete ${userResourcePlural} NAME... [-n NAMESPACE]   |   delete -f FILE`);
  let targets: { name: string; namespace?: string }[];
  if (flags.filename !== undefined) {
    if (positional.length > 0) throw new UsageError('use either -f FILE or a resource type and names, not both');
    const file = flags.filename;
    targets = parseUserManifests(readManifestFile(file), { namespace: flags.namespace, origin: file === '-' ? 'STDIN' : file }).map((m) => ({ name: m.name, namespace: m.namespace }));
  } else {
    const { kind, names } = resourceArgs(positional, 'delete');
    if (kind === 'secrets') {
      throw new UsageError(`a Secret belongs to its user and is deleted with it: strata delete ${userResourcePlural} USER (its credentials stop working at once)`);
    }
    if (names.length === 0) throw new UsageError(`resource name may not be empty: strata delete ${userResourcePlural} NAME`);
    targets = names.map((name) => ({ name, namespace: flags.namespace }));
  }
  const backend = await openBackend(flags, { create: false });
  let failed = 0;
  try {
    for (const t of targets) {
      try {
        const user = await backend.deleteUser(t.name, t.namespace);
        ctx.out.write(`${userResource} "${user.metadata.name}" deleted\n`);
      } catch (err) {
        if (!(err instanceof IdentityError) || err.status >= 500) throw err;
        ctx.err.write(`error: ${err.message}\n`);
        failed++;
      }
    }
  } finally {
    await backend.close();
  }
  return failed > 0 ? 1 : 0;
}

async function cmdToken(ctx: Ctx): Promise<number> {
  const { positional, flags } = normalise(ctx.positional, ctx.flags, ['namespace', 'name', 'output', 'all-namespaces', 'blank']);
  const [sub, ...rest] = positional;
  if (flags.help || sub === undefined) return help(ctx, 'token create (--namespace NS1,NS2 | --all-namespaces | --blank) [--name NAME] [-o json]  |  token list [-o json]  |  token revoke ID', sub === undefined);
  if (sub === 'create') {
    if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
    const all = flags['all-namespaces'] === 'true';
    const blank = flags.blank === 'true';
    if ([all, blank, flags.namespace !== undefined].filter(Boolean).length > 1) throw new UsageError('use one of --namespace, --all-namespaces or --blank');
    if (!all && !blank && (flags.namespace === undefined || flags.namespace === 'true')) {
      throw new UsageError(
        'a token needs namespaces: --namespace ns1,ns2 (it may manage users only there), --all-namespaces for an organisation-admin token, or --blank for one that only Kubernetes RoleBindings grant anything',
      );
    }
    const namespaces = all ? ['*'] : blank ? [] : flags.namespace.split(',').map((s) => s.trim());
    const format = parseOutput(flags.output);
    const backend = await openBackend(flags, { create: true });
    try {
      const t = await backend.createToken(namespaces, flags.name);
      if (format.kind !== 'table') ctx.out.write(renderObject(format, t, [`token/${t.id}`]));
      else {
        ctx.out.write(`token/${t.id} created\n`);
        ctx.out.write(`  name:       ${t.name || '<none>'}\n  namespaces: ${t.namespaces.join(',') || '<none> (blank: Kubernetes RoleBindings only)'}\n`);
        ctx.out.write(`  token:      ${t.token}\n`);
        ctx.out.write('The token is shown only this once (only its SHA-256 hash is stored). Use it as "Authorization: Bearer <token>".\n');
      }
    } finally {
      await backend.close();
    }
    return 0;
  }
  if (sub === 'list') {
    if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
    const format = parseOutput(flags.output);
    const backend = await openBackend(flags, { create: false });
    try {
      const tokens = await backend.listTokens();
      if (format.kind === 'table') {
        const now = Date.now();
        if (tokens.length === 0) ctx.err.write('No tokens found\n');
        else
          ctx.out.write(
            table(
              ['ID', 'NAME', 'NAMESPACES', 'STATUS', 'AGE'],
              tokens.map((t) => [t.id, t.name || '<none>', t.namespaces.join(',') || '<blank>', t.status, humanAge(now - Date.parse(t.createdAt))]),
            ),
          );
      } else ctx.out.write(renderObject(format, { items: tokens }, tokens.map((t) => `token/${t.id}`)));
    } finally {
      await backend.close();
    }
    return 0;
  }
  if (sub === 'revoke') {
    if (rest.length === 0) throw new UsageError('token revoke needs a token ID (see strata token list)');
    const backend = await openBackend(flags, { create: false });
    let failed = 0;
    try {
      for (const id of rest) {
        try {
          ctx.out.write((await backend.revokeToken(id)) + '\n');
        } catch (err) {
          if (!(err instanceof IdentityError) || err.status >= 500) throw err;
          ctx.err.write(`error: ${err.message}\n`);
          failed++;
        }
      }
    } finally {
      await backend.close();
    }
    return failed > 0 ? 1 : 0;
  }
  throw new UsageError(`unknown token subcommand "${sub}" (create, list, revoke)`);
}

async function cmdS3cmdConfig(ctx: Ctx): Promise<number> {
  const { positional, flags } = normalise(ctx.positional, ctx.flags, ['user', 'namespace', 'region', 'endpoint', 'https', 'path-style']);
  if (flags.help) return help(ctx, 's3cmd-config --user NAME [--namespace NS] [--region REGION] [--endpoint HOST:PORT] [--https] [--path-style]');
  if (positional.length > 0) throw new UsageError(`unexpected argument "${positional[0]}"`);
  if (flags.user === undefined || flags.user === 'true') throw new UsageError('s3cmd-config needs --user NAME (metadata.name of the User)');
  const backend = await openBackend(flags, { create: false });
  try {
    const user = await backend.findUser(flags.user, flags.namespace);
    const secret = await backend.getSecret(user.spec.secretName, user.metadata.namespace);
    const info = await backend.info();
    const region = flags.region ?? user.status.defaultRegion ?? info.defaultRegion;
    if (!info.regions.includes(region)) throw new UsageError(`unknown region "${region}"; this server serves ${info.regions.join(', ')}`);
    ctx.out.write(
      s3cmdConfig({
        accessKey: Buffer.from(secret.data.accessKey, 'base64').toString('utf8'),
        secretKey: Buffer.from(secret.data.secretKey, 'base64').toString('utf8'),
        user: user.metadata.name,
        namespace: user.metadata.namespace,
        owner: user.spec.owner,
        access: user.spec.access,
        region,
        baseDomain: info.baseDomain,
        s3Port: info.s3Port,
        https: flags.https === 'true',
        endpoint: flags.endpoint,
        pathStyle: flags['path-style'] === 'true',
      }),
    );
  } finally {
    await backend.close();
  }
  return 0;
}

async function cmdKubeconfig(ctx: Ctx): Promise<number> {
  const { positional, flags } = normalise(ctx.positional, ctx.flags, ['namespace', 'certificate-authority', 'admin-host', 'admin-port']);
  if (flags.help) return help(ctx, 'kubeconfig --token TOKEN [--namespace NS] [--server ADMIN_URL] [--certificate-authority FILE]');
  if (positional.length > 0) throw new UsageError(`unexpected argument "${positional[0]}"`);
  kubeconfigCommand(flags, ctx.out);
  return 0;
}

function help(ctx: Ctx, line: string, asError = false): number {
  (asError ? ctx.err : ctx.out).write(`usage: strata ${line}\n\n${adminUsage}`);
  return asError ? 2 : 0;
}

const commands: Record<string, (ctx: Ctx) => Promise<number>> = {
  apply: cmdApply,
  get: cmdGet,
  delete: cmdDelete,
  token: cmdToken,
  tokens: cmdToken,
  's3cmd-config': cmdS3cmdConfig,
  kubeconfig: cmdKubeconfig,
};

export async function runAdminCommand(
  command: string,
  args: string[],
  flags: Record<string, string>,
  io: { out?: NodeJS.WritableStream; err?: NodeJS.WritableStream } = {},
): Promise<number | undefined> {
  const run = commands[command];
  if (!run) return undefined;
  const ctx: Ctx = { positional: args, flags, out: io.out ?? process.stdout, err: io.err ?? process.stderr };
  try {
    return await run(ctx);
  } catch (err) {
    if (err instanceof UsageError) {
      ctx.err.write(`error: ${err.message}\n`);
      return 2;
    }
    if (err instanceof ManifestError || err instanceof IdentityError || err instanceof OutputError || err instanceof S3cmdConfigError || err instanceof KubeconfigError || err instanceof NoDataRootError || err instanceof TokenError) {
      ctx.err.write(`error: ${err.message}\n`);
      return 1;
    }
    if (err instanceof ConfigError) throw err;
    throw err;
  }
}
