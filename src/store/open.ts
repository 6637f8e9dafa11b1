// Open the region stores a configuration names, on the metadata engine it chooses: SQLite files
// under the data root (the default), or one PostgreSQL database shared by every node
// (metadataUrl). Blobs live under dataDir/regions/<name>/ either way; with PostgreSQL that
// directory is the shared filesystem every node mounts.
import { join } from 'node:path';
import type { StrataConfig } from '../config.ts';
import { PgDatabase, PgRegionMetadata } from './meta/postgres.ts';
import { RegionStore } from './region-store.ts';
import { BlobCollector } from './collector.ts';

export interface RegionStores {
  regions: Map<string, RegionStore>;
  /** the shared database, when there is one */
  database?: PgDatabase;
  /** the blob collector of a shared data directory, when this process runs one */
  collector?: BlobCollector;
  close(): Promise<void>;
}

type StoreConfig = Pick<StrataConfig, 'dataDir' | 'fsync' | 'inlineMaxBytes' | 'regions' | 'metadataUrl' | 'blobGraceSeconds' | 'gcIntervalSeconds'>;

/**
 * `recover`: start-up recovery, and with a shared database the periodic blob collector (the
 * server; the CLI opens stores without either).
 */
export async function openRegionStores(config: StoreConfig, options: { recover?: boolean } = {}): Promise<RegionStores> {
  const database = config.metadataUrl ? new PgDatabase(config.metadataUrl) : undefined;
  const regions = new Map<string, RegionStore>();
  let collector: BlobCollector | undefined;
  const close = async () => {
    await collector?.stop();
    for (const store of regions.values()) await store.close();
    await database?.close();
  };
  try {
    for (const name of config.regions) {
      const root = join(config.dataDir, 'regions', name);
      const storeOptions = {
        fsync: config.fsync,
        inlineMaxBytes: config.inlineMaxBytes,
        // One process owns an SQLite data root; a shared one may hold other nodes' uploads in flight.
        blobGraceMs: database ? config.blobGraceSeconds * 1000 : 0,
      };
      const meta = database ? await PgRegionMetadata.open(database, name) : undefined;
      const store = new RegionStore(name, root, storeOptions, meta);
      regions.set(name, store);
      if (options.recover) await store.recover();
    }
    if (database && options.recover) {
      collector = new BlobCollector([...regions.values()], database, config.gcIntervalSeconds * 1000);
      collector.start();
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { regions, database, collector, close };
}
