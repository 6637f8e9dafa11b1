// What every served object shares: uids, resourceVersions, timestamps, the fields the server
// owns, JSON merge patches (RFC 7386) and Table responses for kubectl's human output.
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { humanAge } from '../admin/format.ts';
import { badRequest } from './status.ts';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A stable UUID-shaped id derived from what identifies an object (an access key, a role's name). */
export function uidOf(seed: string): string {
  const h = createHash('sha256').update(`strata-kube-uid:${seed}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * An opaque resourceVersion that changes whenever the object's content does: digits of a hash
 * of it (kubectl treats it as opaque; PUT and PATCH compare it when the client sends one).
 */
export function resourceVersionOf(content: unknown): string {
  const h = createHash('sha256').update(JSON.stringify(content)).digest();
  return String(h.readUIntBE(0, 6));
}

export function timestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Metadata fields the server sets: accepted on input (kubectl edit and replace send them back) and ignored. */
const serverOwnedMetadata = ['uid', 'resourceVersion', 'generation', 'creationTimestamp', 'managedFields', 'selfLink', 'deletionTimestamp', 'deletionGracePeriodSeconds'];

/** The object without the fields the server owns (metadata above, and status). */
export function withoutServerFields(obj: JsonObject): JsonObject {
  const { status: _status, ...rest } = obj;
  if (!isObject(rest.metadata)) return rest;
  const metadata = { ...rest.metadata };
  for (const f of serverOwnedMetadata) delete metadata[f];
  return { ...rest, metadata };
}

/** RFC 7386: null deletes, objects merge, everything else replaces. */
export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return patch;
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k] ?? null, v);
  }
  return out;
}

/**
 * A strategic merge patch, for the built-in kinds served here (Role, RoleBinding): their lists
 * (rules, subjects) have no merge key, so they replace, exactly as in a JSON merge patch; the
 * directives (`$setElementOrder/…`, `$retainKeys`) only order or prune merged lists and maps,
 * and are dropped. `$patch` (replace/delete) is refused rather than half-understood.
 */
export function strategicToMergePatch(patch: Json): Json {
  if (Array.isArray(patch)) return patch.map(strategicToMergePatch);
  if (!isObject(patch)) return patch;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch') throw badRequest('strategic merge patch directive "$patch" is not supported here; use a JSON merge patch');
    if (k.startsWith('$setElementOrder/') || k === '$retainKeys' || k.startsWith('$deleteFromPrimitiveList/')) continue;
    out[k] = strategicToMergePatch(v);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Tables: what kubectl asks for when it prints for people (`Accept: …;as=Table;…`).

export interface Column {
  name: string;
  type: 'string' | 'integer' | 'date';
  format?: string;
  priority?: number;
}

export function wantsTable(req: IncomingMessage): boolean {
  return /;\s*as=Table/.test(req.headers.accept ?? '');
}

export interface TableRowSource {
  cells: (string | number)[];
  metadata: JsonObject;
}

export function table(columns: Column[], rows: TableRowSource[]): JsonObject {
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion: '' },
    columnDefinitions: columns.map((c) => ({ name: c.name, type: c.type, format: c.format ?? '', description: '', priority: c.priority ?? 0 })),
    rows: rows.map((r) => ({ cells: r.cells, object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: r.metadata } })),
  };
}

export const nameColumn: Column = { name: 'Name', type: 'string', format: 'name' };
export const ageColumn: Column = { name: 'Age', type: 'string' };

/** Kubernetes' age, from a creationTimestamp. */
export function ageOf(creationTimestamp: string, now = Date.now()): string {
  return humanAge(now - Date.parse(creationTimestamp));
}

/** A List of `kind`List for `apiVersion`. */
export function listOf(apiVersion: string, kind: string, items: JsonObject[]): JsonObject {
  return { apiVersion, kind: `${kind}List`, metadata: { resourceVersion: '' }, items };
}

/** `fieldSelector=metadata.name=x,metadata.namespace=y` (what `kubectl delete --wait` lists with); other fields are refused. */
export function fieldSelector(value: string | null): (meta: { name: string; namespace?: string }) => boolean {
  if (!value) return () => true;
  const terms = value.split(',').map((t) => {
    const m = /^(metadata\.name|metadata\.namespace)(==?|!=)(.*)$/.exec(t.trim());
    if (!m) throw badRequest(`field label not supported: ${t.split(/[=!]/)[0]}`);
    return { field: m[1] === 'metadata.name' ? ('name' as const) : ('namespace' as const), equal: m[2] !== '!=', value: m[3] };
  });
  return (meta) => terms.every((t) => (meta[t.field] === t.value) === t.equal);
}

/** `labelSelector=a=b,c!=d,e` (equality and existence only). */
export function labelSelector(value: string | null): (labels: Record<string, unknown> | undefined) => boolean {
  if (!value) return () => true;
  const terms = value.split(',').map((t) => {
    const m = /^\s*(!?)([A-Za-z0-9_./-]+)\s*(?:(==?|!=)\s*([A-Za-z0-9_.-]*))?\s*$/.exec(t);
    if (!m) throw badRequest(`unable to parse requirement: ${JSON.stringify(t)} (only =, == , != and existence are supported)`);
    return { negate: m[1] === '!', key: m[2], op: m[3], value: m[4] };
  });
  return (labels = {}) =>
    terms.every((t) => {
      const has = Object.hasOwn(labels, t.key);
      if (!t.op) return t.negate ? !has : has;
      return t.op === '!=' ? labels[t.key] !== t.value : labels[t.key] === t.value;
    });
}
