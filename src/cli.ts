// The strata command: `strata serve` runs the server; admin subcommands live beside it.
// Command modules are imported when used: an admin command should not pay for loading the server.
import { ConfigError, loadConfig } from './config.ts';

/** --name value / --name=value / --flag → { name: value }. Positional words are returned apart. */
export function parseArgs(argv: string[]): { positional: string[]; flags: Record<string, string> } {
  const positional: string[] = [];
  const flags: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      if (eq >= 0) flags[arg.slice(2, eq)] = arg.slice(eq + 1);
      else if (i + 1 < argv.length && !argv[i + 1].startsWith('-')) flags[arg.slice(2)] = argv[++i];
      else flags[arg.slice(2)] = 'true';
    } else if (arg.startsWith('-') && arg.length === 2 && i + 1 < argv.length) {
      flags[arg.slice(1)] = argv[++i];
    } else positional.push(arg);
  }
  return { positional, flags };
}

const usage = `usage: strata <command> [flags]

commands:
  serve     run the S3 server (flags: --host --port --data-dir --regions --default-region
            --base-domain --signing-regions --fsync --inline-max-bytes --log-level --tls-cert --tls-key --tls-port
            --config FILE; every setting also has a STRATA_* environment variable)
`;

const quotaUsage = `
quotas and usage (on the data root; also while the server runs):
  usage [--org ORG] [--region R]       bytes and objects per organisation and region
  usage check [--repair]               recount usage from the metadata, report differences
  quota get|set|reset ORG [SIZE]       SIZE in bytes or with a unit: 500GB, 30TiB [--region R]
`;

async function serve(flags: Record<string, string>): Promise<void> {
  // Beside the explicit modes (store/file-modes.ts): whatever else the server creates is owner-only too.
  process.umask(0o077);
  const config = loadConfig({ flags });
  const { startServer } = await import('./main.ts');
  const server = await startServer(config);
  const out = process.stdout;
  out.write(`Strata listening on ${server.endpoint}\n`);
  if (server.tlsEndpoint) out.write(`  HTTPS on ${server.tlsEndpoint}\n`);
  out.write(`  regions: ${config.regions.join(', ')} (default ${config.defaultRegion}); host names object.<region>.${config.baseDomain}:${server.port}\n`);
  out.write(`  data: ${config.dataDir}\n`);
  out.write(`  admin API: ${server.admin.endpoint} (Authorization: Bearer <token>)\n`);
  out.write(`  metrics: ${server.admin.endpoint}/metrics; health: ${server.endpoint}/health/ready\n`);
  out.write(`  web console: ${server.admin.endpoint}/console/ (sign in with an admin API token)\n`);
  if (server.adminToken) {
    out.write('\nBootstrap admin API token (organisation admin, all namespaces), shown once:\n');
    out.write(`  STRATA_ADMIN_URL=${server.admin.endpoint}\n  STRATA_ADMIN_TOKEN=${server.adminToken}\n`);
    out.write(`kubectl (Kubernetes API at ${server.admin.endpoint.replace(/^http:/, 'https:')}/k8s): strata kubeconfig --token ${server.adminToken} --server ${server.admin.endpoint} --data-dir ${config.dataDir} > cw-kubeconfig\n`);
  }
  if (server.bootstrap?.secretKey) {
    out.write('\nBootstrap credentials (organisation "default", access level full), shown once:\n');
    out.write(`  AWS_ACCESS_KEY_ID=${server.bootstrap.accessKey}\n  AWS_SECRET_ACCESS_KEY=${server.bootstrap.secretKey}\n\n`);
  } else if (server.bootstrap) {
    out.write(`  admin access key: ${server.bootstrap.accessKey} (secret from STRATA_ADMIN_SECRET_KEY)\n`);
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    out.write(`${signal}: finishing in-flight requests and closing\n`);
    server.close().then(
      () => process.exit(0),
      (err) => {
        process.stderr.write(`shutdown failed: ${(err as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

export async function main(argv: string[]): Promise<number> {
  const { positional, flags } = parseArgs(argv);
  const [command] = positional;
  try {
    switch (command) {
      case 'serve':
        await serve(flags);
        return -1; // keep running
      case 'lifecycle': {
        const { runLifecycleCommand } = await import('./lifecycle/command.ts');
        return await runLifecycleCommand(positional.slice(1), flags);
      }
      case 'migrate': {
        const { runMigrateCommand } = await import('./store/migrate-command.ts');
        return await runMigrateCommand(positional.slice(1), flags);
      }
      case undefined:
      case 'help': {
        const { adminUsage } = await import('./admin/commands.ts');
        const { migrateUsage } = await import('./store/migrate-command.ts');
        const { lifecycleUsage } = await import('./lifecycle/command.ts');
        const { policyUsage } = await import('./admin/policy-command.ts');
        const { topicUsage } = await import('./notify/commands.ts');
        process.stdout.write(usage + quotaUsage + lifecycleUsage + policyUsage + migrateUsage + topicUsage + adminUsage);
        return command === undefined ? 2 : 0;
      }
      default: {
        const { runQuotaCommand } = await import('./quota/commands.ts');
        const { runAdminCommand } = await import('./admin/commands.ts');
        const { runPolicyCommand } = await import('./admin/policy-command.ts');
        const { runTopicCommand } = await import('./notify/commands.ts');
        const code =
          (await runQuotaCommand(command, positional.slice(1), flags)) ??
          (await runPolicyCommand(command, positional.slice(1), flags)) ??
          (await runTopicCommand(command, positional.slice(1), flags)) ??
          (await runAdminCommand(command, positional.slice(1), flags));
        if (code !== undefined) return code;
        process.stderr.write(`strata: unknown command "${command}"\n${usage}`);
        return 2;
      }
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`strata: configuration error: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

const invokedDirectly = process.argv[1] && /cli\.ts$/.test(process.argv[1]);
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => {
      if (code >= 0) process.exit(code);
    },
    (err) => {
      process.stderr.write(`strata: ${(err as Error).stack ?? err}\n`);
      process.exit(1);
    },
  );
}
