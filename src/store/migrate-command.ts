// strata migrate --to postgres://… [--data-dir DIR] [--regions a,b] [--batch-rows N]
// Progress on stderr, the summary on stdout; exit 0 when every region is migrated and verified
// (or was already), 1 on a refusal, an error or a verification mismatch, 2 on bad usage.
import { loadConfig } from '../config.ts';
import { MigrationProgress } from './migrate-progress.ts';
import { MigrationError, migrateMetadata, type MigrationReport } from './migrate.ts';

export const migrateUsage = `
moving an embedded data root's metadata to PostgreSQL (stop the server first):
  migrate --to postgres://USER@HOST/DB [--data-dir DIR] [--regions a,b] [--batch-rows N]
            copies every region's SQLite metadata (buckets, objects, versions, uploads, usage,
            quotas, inline blobs) into the database; file blobs stay in DIR/regions/*/blobs.
            Resumable: run it again after an interruption. Verified by row counts and checksums.
            Then start the nodes with STRATA_METADATA_URL and the same data directory.
`;

export async function runMigrateCommand(args: string[], flags: Record<string, string>): Promise<number> {
  const url = flags.to;
  if (args.length > 0 || !url || url === 'true' || !/^postgres(ql)?:\/\//.test(url)) {
    process.stderr.write(`usage: strata migrate --to postgres://… [--data-dir DIR] [--regions a,b] [--batch-rows N]\n`);
    return 2;
  }
  const batchRows = flags['batch-rows'] === undefined ? undefined : Number(flags['batch-rows']);
  if (batchRows !== undefined && !(Number.isInteger(batchRows) && batchRows > 0)) {
    process.stderr.write('strata migrate: --batch-rows must be a positive integer\n');
    return 2;
  }
  // The source is always the embedded data root: STRATA_METADATA_URL, if set, is not consulted.
  const config = loadConfig({ flags: Object.fromEntries(Object.entries(flags).filter(([k]) => k === 'data-dir' || k === 'config' || k === 'regions')) });
  const kill = process.env.STRATA_MIGRATE_KILL_AFTER_BATCHES;
  const progress = new MigrationProgress(process.stderr);
  let report: MigrationReport;
  try {
    report = await migrateMetadata({
      dataDir: config.dataDir,
      regions: config.regions,
      url,
      batchRows,
      progress,
      killAfterBatches: kill === undefined ? undefined : Number(kill),
    });
  } catch (error) {
    if (!(error instanceof MigrationError)) throw error;
    process.stderr.write(`strata migrate: ${error.message}\n`);
    return 1;
  }
  process.stdout.write(summary(report, config.dataDir));
  return report.regions.some((r) => r.status === 'verification failed') ? 1 : 0;
}

function summary(report: MigrationReport, dataDir: string): string {
  const lines = [`migrated the metadata of ${dataDir}:`];
  for (const r of report.regions) {
    if (r.tables.length === 0) {
      lines.push(`  ${r.region}: ${r.status}`);
      continue;
    }
    const copied = r.tables.reduce((n, t) => n + t.copied, 0);
    const rate = r.seconds > 0 ? Math.round(copied / r.seconds) : copied;
    lines.push(`  ${r.region}: ${r.status}, ${copied} rows copied by this run in ${r.seconds.toFixed(2)} s (${rate} rows/s)`);
    for (const t of r.tables) {
      const check = t.verified ? `verified (${t.sqlite.rows} rows, sha256 ${t.sqlite.checksum.slice(0, 16)})` : `MISMATCH: SQLite ${t.sqlite.rows} rows, PostgreSQL ${t.postgres.rows} rows, checksums ${t.sqlite.checksum.slice(0, 16)} / ${t.postgres.checksum.slice(0, 16)}`;
      lines.push(`    ${t.table.padEnd(16)} ${String(t.rows).padStart(9)} rows  ${check}`);
    }
    if (r.status === 'verification failed') {
      lines.push(`    the database differs from the SQLite file in: ${r.tables.filter((t) => !t.verified).map((t) => t.table).join(', ')}`);
      lines.push(`    (was the server run on the data root between runs? drop the region's schema and migrate again)`);
    }
  }
  lines.push(`  ${report.identity}`);
  lines.push(`total: ${report.copied} rows in ${report.seconds.toFixed(2)} s`);
  return lines.join('\n') + '\n';
}
