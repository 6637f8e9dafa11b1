// The seed's User manifest (objectstorage.coreweave.com/v1alpha1, kind User), validated
// strictly, and the Kubernetes-shaped objects Strata prints back: User, Secret, List.
//
//   apiVersion: objectstorage.coreweave.com/v1alpha1
//   kind: User
//   metadata:
//     name: my-example
//     namespace: my-namespace
//   spec:
//     owner: my-namespace          # the organisation that owns the key (and its buckets)
//     access: full                 # full, readwrite, read or write
//     secretName: my-example-secret  # optional; default <namespace>-<name>-obj-store-creds
import type { AccessLevel, KeyRecord } from './identity-store.ts';
import { labelProblem, subdomainProblem } from './names.ts';
import { parseYamlDocuments, YamlError } from './yaml.ts';

export { labelProblem, subdomainProblem };

export const userApiVersion = 'objectstorage.coreweave.com/v1alpha1';
export const userKind = 'User';
/** The resource name kubectl users type: `kubectl get users.objectstorage.coreweave.com`. */
export const userResource = 'user.objectstorage.coreweave.com';
export const userResourcePlural = 'users.objectstorage.coreweave.com';

/** A validated manifest. `secretName` is already defaulted. */
export interface UserManifest {
  name: string;
  namespace: string;
  owner: string;
  access: AccessLevel;
  secretName: string;
}

/** The seed's access levels, in the order its comment lists them. */
export const manifestAccessLevels: readonly AccessLevel[] = ['full', 'readwrite', 'read', 'write'];

export class ManifestError extends Error {
  constructor(message: string, readonly problems: string[] = []) {
    super(message);
    this.name = 'ManifestError';
  }
}

export function defaultSecretName(namespace: string, name: string): string {
  return `${namespace}-${name}-obj-store-creds`;
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

const topFields = new Set(['apiVersion', 'kind', 'metadata', 'spec', 'status']);
const metadataFields = new Set(['name', 'namespace', 'labels', 'annotations', 'creationTimestamp']);
const specFields = new Set(['owner', 'access', 'secretName']);

/**
 * Validate one decoded document. `namespace` is the -n/--namespace given on the command line
 * (used when the manifest names none; a different one is an error, as with kubectl).
 * Every problem is reported at once.
 */
export function validateUserManifest(doc: unknown, options: { namespace?: string } = {}): UserManifest {
  if (!isMap(doc)) throw new ManifestError(`expected a User manifest (a mapping with apiVersion, kind, metadata and spec), got ${describe(doc)}`);
  const problems: string[] = [];
  const { apiVersion, kind } = doc;
  if (apiVersion === undefined || apiVersion === null) problems.push('apiVersion: Required value');
  else if (apiVersion !== userApiVersion) problems.push(`apiVersion: Unsupported value: ${JSON.stringify(apiVersion)}: supported values: "${userApiVersion}"`);
  if (kind === undefined || kind === null) problems.push('kind: Required value');
  else if (kind !== userKind) problems.push(`kind: Unsupported value: ${JSON.stringify(kind)}: supported values: "${userKind}"`);
  if (problems.length > 0) throw new ManifestError(invalid(doc, problems), problems);

  for (const k of Object.keys(doc)) if (!topFields.has(k)) problems.push(`unknown field "${k}"`);

  const metadata = doc.metadata;
  let name: string | undefined;
  let namespace: string | undefined;
  if (metadata === undefined || metadata === null) problems.push('metadata: Required value');
  else if (!isMap(metadata)) problems.push(`metadata: Invalid value: must be a mapping, got ${describe(metadata)}`);
  else {
    for (const k of Object.keys(metadata)) if (!metadataFields.has(k)) problems.push(`unknown field "metadata.${k}"`);
    name = requiredString(metadata.name, 'metadata.name', problems, subdomainProblem);
    if (metadata.namespace === undefined || metadata.namespace === null || metadata.namespace === '') {
      if (options.namespace !== undefined) namespace = requiredString(options.namespace, 'namespace (-n)', problems, labelProblem);
      else problems.push('metadata.namespace: Required value (or pass -n NAMESPACE)');
    } else {
      namespace = requiredString(metadata.namespace, 'metadata.namespace', problems, labelProblem);
      if (namespace !== undefined && options.namespace !== undefined && namespace !== options.namespace) {
        problems.push(`metadata.namespace: the namespace from the provided object "${namespace}" does not match the namespace "${options.namespace}"; pass -n ${namespace} or remove -n`);
      }
    }
    for (const field of ['labels', 'annotations'] as const) {
      const m = metadata[field];
      if (m === undefined || m === null) continue;
      if (!isMap(m)) problems.push(`metadata.${field}: Invalid value: must be a mapping of strings`);
      else for (const [k, v] of Object.entries(m)) if (typeof v !== 'string') problems.push(`metadata.${field}.${k}: Invalid value: must be a string, got ${describe(v)}`);
    }
  }

  const spec = doc.spec;
  let owner: string | undefined;
  let access: AccessLevel | undefined;
  let secretName: string | undefined;
  if (spec === undefined || spec === null) problems.push('spec: Required value');
  else if (!isMap(spec)) problems.push(`spec: Invalid value: must be a mapping, got ${describe(spec)}`);
  else {
    for (const k of Object.keys(spec)) if (!specFields.has(k)) problems.push(`unknown field "spec.${k}"`);
    owner = requiredString(spec.owner, 'spec.owner', problems, labelProblem);
    if (spec.access === undefined || spec.access === null || spec.access === '') problems.push('spec.access: Required value (full, readwrite, read or write)');
    else if (typeof spec.access !== 'string' || !(manifestAccessLevels as readonly string[]).includes(spec.access)) {
      problems.push(`spec.access: Unsupported value: ${JSON.stringify(spec.access)}: supported values: ${manifestAccessLevels.map((l) => `"${l}"`).join(', ')}`);
    } else access = spec.access as AccessLevel;
    if (spec.secretName !== undefined && spec.secretName !== null && spec.secretName !== '') {
      secretName = requiredString(spec.secretName, 'spec.secretName', problems, subdomainProblem);
    }
  }
  if (secretName === undefined && name !== undefined && namespace !== undefined) {
    secretName = defaultSecretName(namespace, name);
    const p = subdomainProblem(secretName);
    if (p) problems.push(`spec.secretName: the default secret name "${secretName}" ${p}; set spec.secretName`);
  }
  if (problems.length > 0) throw new ManifestError(invalid(doc, problems), problems);
  return { name: name!, namespace: namespace!, owner: owner!, access: access!, secretName: secretName! };
}

function requiredString(v: unknown, field: string, problems: string[], rule: (s: string) => string | undefined): string | undefined {
  if (v === undefined || v === null || v === '') {
    problems.push(`${field}: Required value`);
    return undefined;
  }
  if (typeof v !== 'string') {
    problems.push(`${field}: Invalid value: must be a string, got ${describe(v)}`);
    return undefined;
  }
  const p = rule(v);
  if (p) {
    problems.push(`${field}: Invalid value: ${JSON.stringify(v)}: ${p}`);
    return undefined;
  }
  return v;
}

function invalid(doc: Record<string, unknown>, problems: string[]): string {
  const meta = isMap(doc.metadata) ? doc.metadata : {};
  const who = typeof meta.name === 'string' ? `User "${meta.name}"` : 'User';
  return problems.length === 1 ? `${who} is invalid: ${problems[0]}` : `${who} is invalid: [${problems.join(', ')}]`;
}

/**
 * Decode a manifest file (YAML, several documents allowed, or JSON: an object, an array of
 * objects, or a kind: List) and validate every document. Nothing is applied unless all are valid.
 */
export function parseUserManifests(source: string, options: { namespace?: string; origin?: string } = {}): UserManifest[] {
  const origin = options.origin ? ` "${options.origin}"` : '';
  let docs: unknown[];
  try {
    docs = parseYamlDocuments(source);
  } catch (err) {
    if (err instanceof YamlError) throw new ManifestError(`error parsing${origin}: ${err.message}`);
    throw err;
  }
  docs = docs.flatMap((d) => {
    if (Array.isArray(d)) return d;
    if (isMap(d) && d.kind === 'List' && d.apiVersion === 'v1' && Array.isArray(d.items)) return d.items;
    return [d];
  });
  if (docs.length === 0) throw new ManifestError(`no objects passed to apply${origin ? ` (${origin.trim()} is empty)` : ''}`);
  const out: UserManifest[] = [];
  for (let i = 0; i < docs.length; i++) {
    try {
      out.push(validateUserManifest(docs[i], options));
    } catch (err) {
      if (!(err instanceof ManifestError)) throw err;
      const where = docs.length > 1 ? ` (document ${i + 1})` : '';
      throw new ManifestError(`error validating${origin}${where}: ${err.message}`, err.problems);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Objects as Strata prints and serves them (the shape kubectl shows for the same resources).

export interface UserObject {
  apiVersion: typeof userApiVersion;
  kind: 'User';
  metadata: { name: string; namespace: string; creationTimestamp: string };
  spec: { owner: string; access: AccessLevel; secretName: string };
  /** defaultRegion: the region the key was created for (the console's create form), when one was chosen */
  status: { objectStorageAccess: 'ACTIVE'; objectStorageId: string; defaultRegion?: string };
}

export interface SecretObject {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: {
    name: string;
    namespace: string;
    creationTimestamp: string;
    ownerReferences: { apiVersion: string; kind: 'User'; name: string }[];
  };
  type: 'Opaque';
  /** base64, as in a Kubernetes Secret */
  data: { accessKey: string; secretKey: string };
}

export interface ListObject<T> {
  apiVersion: 'v1';
  kind: 'List';
  items: T[];
}

export function userObject(k: KeyRecord): UserObject {
  return {
    apiVersion: userApiVersion,
    kind: 'User',
    metadata: { name: k.user, namespace: k.namespace, creationTimestamp: new Date(k.createdAt).toISOString().replace(/\.\d{3}Z$/, 'Z') },
    spec: { owner: k.org, access: k.level, secretName: k.secretName },
    status: { objectStorageAccess: 'ACTIVE', objectStorageId: `${k.namespace}:${k.user}`, ...(k.defaultRegion !== undefined ? { defaultRegion: k.defaultRegion } : {}) },
  };
}

export function secretObject(k: KeyRecord, secretKey: string): SecretObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: k.secretName,
      namespace: k.namespace,
      creationTimestamp: new Date(k.createdAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      ownerReferences: [{ apiVersion: userApiVersion, kind: 'User', name: k.user }],
    },
    type: 'Opaque',
    data: { accessKey: Buffer.from(k.accessKey).toString('base64'), secretKey: Buffer.from(secretKey).toString('base64') },
  };
}

export function listObject<T>(items: T[]): ListObject<T> {
  return { apiVersion: 'v1', kind: 'List', items };
}
