// Typed configuration, assembled from defaults < config file < environment < flags and
// validated once at start-up. Anything invalid stops the process with a message that names
// the setting and where it came from.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { prepareWebsiteHosts, websiteHostPatternProblem } from './website/host.ts';

export interface StrataConfig {
  host: string;
  port: number;
  dataDir: string;
  /** Regions served by this process. Each is an independent store under dataDir/regions/<name>. */
  regions: string[];
  /** Region that answers requests whose Host names no region (e.g. 127.0.0.1:9000). */
  defaultRegion: string;
  /** Host names are object.<region>.<baseDomain>, <bucket>.object.<region>.<baseDomain>, accel-object.<region>.<baseDomain>. */
  baseDomain: string;
  /** SigV4 credential-scope regions that verify. The service region is always named 'default'. */
  signingRegions: string[];
  adminAccessKey?: string;
  adminSecretKey?: string;
  /** fsync blobs and the metadata WAL before acknowledging a write. */
  fsync: boolean;
  /**
   * Object bodies declared at most this many bytes long are stored inside the metadata database
   * rather than as files (one WAL fsync instead of a file, a rename and three fsyncs). 0 turns it off.
   */
  inlineMaxBytes: number;
  /** Peers whose X-Forwarded-For header is believed for aws:SourceIp. */
  trustedProxies: string[];
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Address of the admin API listener (JSON, bearer-token authenticated). Loopback by default. */
  adminHost: string;
  /**
   * Port of the admin API listener. -1 (the default) means "the S3 port + 1" (9001 with the
   * default S3 port), or an ephemeral port when the S3 port is 0; 0 picks a free port.
   */
  adminPort: number;
  /** PEM certificate and key files; when both are set an HTTPS listener runs on tlsPort. */
  tlsCert?: string;
  tlsKey?: string;
  /** HTTPS port (0 picks a free one). */
  tlsPort: number;
  /** Refuse SSE-C over plain HTTP except from loopback clients (AWS and Ceph refuse it outright). */
  sseRequireTls: boolean;
  /** Default storage quota of an organisation in each region, in bytes (30 TiB = 30 × 2^40 bytes). */
  defaultQuotaBytes: number;
  /** Accelerated read cache: directory, bound in bytes, and how long an entry is served without revalidation (seconds). */
  accelCacheDir: string;
  accelCacheBytes: number;
  accelTtlSeconds: number;
  /** Where each region's origin is reached for accelerated reads, as region=URL entries. */
  regionEndpoints: string[];
  /**
   * postgres://… : keep every region's metadata in this PostgreSQL database instead of SQLite
   * files, so that several Strata nodes over one shared data directory serve the same regions.
   */
  metadataUrl?: string;
  /** Shared mode: unreferenced blob files younger than this are left alone by recovery (seconds). */
  blobGraceSeconds: number;
  /** Shared mode: how often the blob collector runs (on one node per region at a time; seconds). */
  gcIntervalSeconds: number;
  /** Access log: 'off', 'stdout', or a file path (JSON lines; src/logging/access-log.ts). */
  accessLog: string;
  /** Bearer token for GET /metrics: required on the admin listener when set; the S3 listener serves /metrics only with it. */
  metricsToken?: string;
  /** Label S3 request counters with the bucket name too (opt-in: one series per bucket). */
  metricsBucketLabel: boolean;
  /** Outbox (notifications, access logs): how long a delivery is retried before it is dropped (seconds). */
  eventRetrySeconds: number;
  /** Outbox: the longest wait between two attempts of one delivery (seconds). */
  eventBackoffMaxSeconds: number;
  /** Notifications: how long a webhook may take to answer (seconds). */
  eventTimeoutSeconds: number;
  /** Access logs: records are delivered into the target bucket within this many seconds (the default roll time). */
  accessLogDelaySeconds: number;
  /**
   * Host names of the static website endpoints (src/website/host.ts): {bucket} first, then
   * {region} and the literal labels around them; {baseDomain} stands for baseDomain. '' turns
   * website hosting off.
   */
  websiteHostPattern: string;
  /**
   * Length of a lifecycle "day" in seconds (86400). Shorter only for tests, as Ceph's
   * rgw_lc_debug_interval: rules' Days then count these, from the object's time without rounding.
   */
  lifecycleDaySeconds: number;
  /** How often each region's lifecycle worker starts a pass over its buckets (seconds); 0: no worker. */
  lifecycleIntervalSeconds: number;
}

export const defaultConfig: StrataConfig = {
  host: '127.0.0.1',
  port: 9000,
  dataDir: './data',
  regions: ['lga1', 'ord1', 'las1'],
  defaultRegion: 'lga1',
  baseDomain: 'localhost',
  signingRegions: ['default', 'us-east-1'],
  fsync: true,
  inlineMaxBytes: 64 * 1024,
  trustedProxies: [],
  logLevel: 'warn',
  adminHost: '127.0.0.1',
  adminPort: -1,
  tlsPort: 9443,
  sseRequireTls: true,
  defaultQuotaBytes: 30 * 2 ** 40,
  accelCacheDir: '',
  accelCacheBytes: 10 * 2 ** 30,
  accelTtlSeconds: 5,
  regionEndpoints: [],
  blobGraceSeconds: 900,
  gcIntervalSeconds: 60,
  accessLog: 'off',
  metricsBucketLabel: false,
  eventRetrySeconds: 86_400,
  eventBackoffMaxSeconds: 60,
  eventTimeoutSeconds: 10,
  accessLogDelaySeconds: 300,
  websiteHostPattern: '{bucket}.s3-website.{region}.{baseDomain}',
  lifecycleDaySeconds: 86400,
  lifecycleIntervalSeconds: 3600,
};

export class ConfigError extends Error {}

/** Settings without a default value (absent unless configured). */
const optionalSettings = ['adminAccessKey', 'adminSecretKey', 'tlsCert', 'tlsKey', 'metadataUrl', 'metricsToken'];

/** Environment variable → config field. Values are parsed by the field's type. */
export const envNames: Record<string, keyof StrataConfig> = {
  STRATA_HOST: 'host',
  STRATA_PORT: 'port',
  STRATA_DATA_DIR: 'dataDir',
  STRATA_REGIONS: 'regions',
  STRATA_DEFAULT_REGION: 'defaultRegion',
  STRATA_BASE_DOMAIN: 'baseDomain',
  STRATA_SIGNING_REGIONS: 'signingRegions',
  STRATA_ADMIN_ACCESS_KEY: 'adminAccessKey',
  STRATA_ADMIN_SECRET_KEY: 'adminSecretKey',
  STRATA_FSYNC: 'fsync',
  STRATA_INLINE_MAX_BYTES: 'inlineMaxBytes',
  STRATA_TRUSTED_PROXIES: 'trustedProxies',
  STRATA_LOG_LEVEL: 'logLevel',
  STRATA_TLS_CERT: 'tlsCert',
  STRATA_TLS_KEY: 'tlsKey',
  STRATA_TLS_PORT: 'tlsPort',
  STRATA_SSE_REQUIRE_TLS: 'sseRequireTls',
  STRATA_DEFAULT_QUOTA_BYTES: 'defaultQuotaBytes',
  STRATA_ACCEL_CACHE_DIR: 'accelCacheDir',
  STRATA_ACCEL_CACHE_BYTES: 'accelCacheBytes',
  STRATA_ACCEL_TTL_SECONDS: 'accelTtlSeconds',
  STRATA_REGION_ENDPOINTS: 'regionEndpoints',
  STRATA_ADMIN_HOST: 'adminHost',
  STRATA_ADMIN_PORT: 'adminPort',
  STRATA_METADATA_URL: 'metadataUrl',
  STRATA_BLOB_GRACE_SECONDS: 'blobGraceSeconds',
  STRATA_GC_INTERVAL_SECONDS: 'gcIntervalSeconds',
  STRATA_ACCESS_LOG: 'accessLog',
  STRATA_METRICS_TOKEN: 'metricsToken',
  STRATA_METRICS_BUCKET_LABEL: 'metricsBucketLabel',
  STRATA_EVENT_RETRY_SECONDS: 'eventRetrySeconds',
  STRATA_EVENT_BACKOFF_MAX_SECONDS: 'eventBackoffMaxSeconds',
  STRATA_EVENT_TIMEOUT_SECONDS: 'eventTimeoutSeconds',
  STRATA_ACCESS_LOG_DELAY_SECONDS: 'accessLogDelaySeconds',
  STRATA_WEBSITE_HOST_PATTERN: 'websiteHostPattern',
  STRATA_LIFECYCLE_DAY_SECONDS: 'lifecycleDaySeconds',
  STRATA_LIFECYCLE_INTERVAL_SECONDS: 'lifecycleIntervalSeconds',
};

/** Flag (without --) → config field. */
const flagNames: Record<string, keyof StrataConfig> = {
  host: 'host',
  port: 'port',
  'data-dir': 'dataDir',
  regions: 'regions',
  'default-region': 'defaultRegion',
  'base-domain': 'baseDomain',
  'signing-regions': 'signingRegions',
  fsync: 'fsync',
  'inline-max-bytes': 'inlineMaxBytes',
  'trusted-proxies': 'trustedProxies',
  'log-level': 'logLevel',
  'tls-cert': 'tlsCert',
  'tls-key': 'tlsKey',
  'tls-port': 'tlsPort',
  'sse-require-tls': 'sseRequireTls',
  'default-quota-bytes': 'defaultQuotaBytes',
  'accel-cache-dir': 'accelCacheDir',
  'accel-cache-bytes': 'accelCacheBytes',
  'accel-ttl-seconds': 'accelTtlSeconds',
  'region-endpoints': 'regionEndpoints',
  'admin-host': 'adminHost',
  'admin-port': 'adminPort',
  'metadata-url': 'metadataUrl',
  'blob-grace-seconds': 'blobGraceSeconds',
  'gc-interval-seconds': 'gcIntervalSeconds',
  'access-log': 'accessLog',
  'metrics-bucket-label': 'metricsBucketLabel',
  'event-retry-seconds': 'eventRetrySeconds',
  'event-backoff-max-seconds': 'eventBackoffMaxSeconds',
  'event-timeout-seconds': 'eventTimeoutSeconds',
  'access-log-delay-seconds': 'accessLogDelaySeconds',
  'website-host-pattern': 'websiteHostPattern',
  'lifecycle-day-seconds': 'lifecycleDaySeconds',
  'lifecycle-interval-seconds': 'lifecycleIntervalSeconds',
};

function coerce(field: keyof StrataConfig, raw: unknown, source: string): unknown {
  const sample = defaultConfig[field];
  const kind = Array.isArray(sample) ? 'list' : typeof sample;
  if (kind === 'list') {
    if (Array.isArray(raw)) return raw.map(String);
    return String(raw).split(',').map((s) => s.trim()).filter(Boolean);
  }
  if (kind === 'number') {
    const n = Number(raw);
    if (!Number.isInteger(n)) throw new ConfigError(`${source}: ${field} must be an integer, got ${JSON.stringify(raw)}`);
    return n;
  }
  if (kind === 'boolean') {
    if (typeof raw === 'boolean') return raw;
    const s = String(raw).toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(s)) return true;
    if (['0', 'false', 'no', 'off'].includes(s)) return false;
    throw new ConfigError(`${source}: ${field} must be true or false, got ${JSON.stringify(raw)}`);
  }
  return String(raw);
}

export interface ConfigSources {
  env?: NodeJS.ProcessEnv;
  flags?: Record<string, string>;
  configFile?: string;
}

export function loadConfig(sources: ConfigSources = {}): StrataConfig {
  const env = sources.env ?? process.env;
  const config: Record<string, unknown> = { ...defaultConfig };
  const file = sources.flags?.config ?? env.STRATA_CONFIG ?? sources.configFile;
  if (file) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new ConfigError(`config file ${file}: ${(err as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ConfigError(`config file ${file}: must hold a JSON object`);
    for (const [name, value] of Object.entries(parsed)) {
      if (!(name in defaultConfig) && !optionalSettings.includes(name)) throw new ConfigError(`config file ${file}: unknown setting "${name}"`);
      config[name] = coerce(name as keyof StrataConfig, value, `config file ${file}`);
    }
  }
  for (const [name, field] of Object.entries(envNames)) {
    const value = env[name];
    if (value !== undefined && value !== '') config[field] = coerce(field, value, `environment ${name}`);
  }
  for (const [name, value] of Object.entries(sources.flags ?? {})) {
    if (name === 'config') continue;
    const field = flagNames[name];
    if (!field) throw new ConfigError(`unknown flag --${name}`);
    config[field] = coerce(field, value, `flag --${name}`);
  }
  return validate(config as unknown as StrataConfig);
}

const regionName = /^[a-z][a-z0-9-]{1,30}$/;

function validate(c: StrataConfig): StrataConfig {
  if (c.port < 0 || c.port > 65535) throw new ConfigError(`port must be 0-65535, got ${c.port}`);
  if (c.adminPort < -1 || c.adminPort > 65535) throw new ConfigError(`adminPort must be 0-65535 (or -1 for the S3 port + 1), got ${c.adminPort}`);
  if (c.inlineMaxBytes < 0 || c.inlineMaxBytes > 1024 * 1024) throw new ConfigError(`inlineMaxBytes must be 0-1048576, got ${c.inlineMaxBytes}`);
  if (c.regions.length === 0) throw new ConfigError('regions must name at least one region');
  for (const r of c.regions) if (!regionName.test(r)) throw new ConfigError(`region name "${r}" must be lower-case letters, digits and dashes`);
  if (!c.regions.includes(c.defaultRegion)) c.defaultRegion = c.regions[0];
  if (!/^[a-z0-9.-]+$/i.test(c.baseDomain)) throw new ConfigError(`baseDomain "${c.baseDomain}" is not a host name`);
  if (c.signingRegions.length === 0) throw new ConfigError('signingRegions must list at least "default"');
  if ((c.adminAccessKey === undefined) !== (c.adminSecretKey === undefined)) {
    throw new ConfigError('STRATA_ADMIN_ACCESS_KEY and STRATA_ADMIN_SECRET_KEY must be set together');
  }
  if (c.adminAccessKey !== undefined && !/^[A-Za-z0-9]{3,128}$/.test(c.adminAccessKey)) throw new ConfigError('STRATA_ADMIN_ACCESS_KEY must be 3-128 letters or digits');
  if (c.adminSecretKey !== undefined && c.adminSecretKey.length < 8) throw new ConfigError('STRATA_ADMIN_SECRET_KEY must be at least 8 characters');
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(c.logLevel)) throw new ConfigError(`logLevel "${c.logLevel}" is not a log level`);
  if ((c.tlsCert === undefined) !== (c.tlsKey === undefined)) throw new ConfigError('tlsCert and tlsKey (STRATA_TLS_CERT / STRATA_TLS_KEY) must be set together');
  if (c.tlsPort < 0 || c.tlsPort > 65535) throw new ConfigError(`tlsPort must be 0-65535, got ${c.tlsPort}`);
  if (!(c.defaultQuotaBytes > 0)) throw new ConfigError('defaultQuotaBytes must be a positive number of bytes');
  if (!(c.accelCacheBytes > 0)) throw new ConfigError('accelCacheBytes must be a positive number of bytes');
  if (!(c.accelTtlSeconds >= 0)) throw new ConfigError('accelTtlSeconds must be zero or more seconds');
  for (const entry of c.regionEndpoints) {
    const m = /^([a-z][a-z0-9-]*)=(https?:\/\/\S+)$/.exec(entry);
    if (!m) throw new ConfigError(`regionEndpoints entry "${entry}" must look like region=http://host:port`);
  }
  if (c.metadataUrl !== undefined && !/^postgres(ql)?:\/\//.test(c.metadataUrl)) throw new ConfigError('metadataUrl (STRATA_METADATA_URL) must be a postgres:// URL');
  if (!(c.blobGraceSeconds >= 0)) throw new ConfigError('blobGraceSeconds must be zero or more seconds');
  if (!(c.gcIntervalSeconds >= 1)) throw new ConfigError('gcIntervalSeconds must be at least 1 second');
  if (!(c.lifecycleDaySeconds >= 1)) throw new ConfigError('lifecycleDaySeconds must be at least 1 second');
  if (!(c.lifecycleIntervalSeconds >= 0)) throw new ConfigError('lifecycleIntervalSeconds must be zero (no worker) or more seconds');
  if (c.metricsToken !== undefined && !/^[\x21-\x7e]{16,256}$/.test(c.metricsToken)) throw new ConfigError('metricsToken (STRATA_METRICS_TOKEN) must be 16-256 printable characters without spaces');
  if (!(c.eventRetrySeconds >= 1)) throw new ConfigError('eventRetrySeconds must be at least 1 second');
  if (!(c.eventBackoffMaxSeconds >= 1)) throw new ConfigError('eventBackoffMaxSeconds must be at least 1 second');
  if (!(c.eventTimeoutSeconds >= 1)) throw new ConfigError('eventTimeoutSeconds must be at least 1 second');
  if (!(c.accessLogDelaySeconds >= 1)) throw new ConfigError('accessLogDelaySeconds must be at least 1 second');
  c.baseDomain = c.baseDomain.toLowerCase();
  if (c.accessLog !== 'off' && c.accessLog !== 'stdout') c.accessLog = resolve(c.accessLog);
  const websiteProblem = websiteHostPatternProblem(c.websiteHostPattern);
  if (websiteProblem) throw new ConfigError(`websiteHostPattern "${c.websiteHostPattern}": ${websiteProblem}`);
  prepareWebsiteHosts(c);
  if (!c.accelCacheDir) c.accelCacheDir = resolve(c.dataDir, 'accel-cache');
  c.dataDir = resolve(c.dataDir);
  c.accelCacheDir = resolve(c.accelCacheDir);
  return c;
}

/** regionEndpoints as a map: region → origin URL without a trailing slash. */
export function regionEndpointMap(c: StrataConfig): Map<string, string> {
  return new Map(c.regionEndpoints.map((e) => {
    const eq = e.indexOf('=');
    return [e.slice(0, eq), e.slice(eq + 1).replace(/\/+$/, '')] as [string, string];
  }));
}
