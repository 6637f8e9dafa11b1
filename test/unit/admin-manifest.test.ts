// The YAML subset and the User manifest validator: the seed's manifest exactly, every
// documented refusal with its message, and the printer reading back what it prints.
import { describe, expect, it } from 'vitest';
import { ManifestError, defaultSecretName, parseUserManifests, validateUserManifest } from '../../src/identity/manifest.ts';
import { parseYamlDocuments, toYaml, YamlError } from '../../src/identity/yaml.ts';

// The seed's object-storage-crd.yaml, verbatim (its comment included).
const seedManifest = `apiVersion: objectstorage.coreweave.com/v1alpha1
kind: User
metadata:
  name: my-example
  namespace: my-namespace
spec:
  owner: my-namespace
  access: full # Possible options are: full, readwrite, read, or write
  secretName: my-example-secret
`;

function manifest(fields: { name?: string; namespace?: string; owner?: string; access?: string; secretName?: string; extra?: string } = {}): string {
  const lines = ['apiVersion: objectstorage.coreweave.com/v1alpha1', 'kind: User', 'metadata:'];
  if (fields.name !== undefined) lines.push(`  name: ${fields.name}`);
  if (fields.namespace !== undefined) lines.push(`  namespace: ${fields.namespace}`);
  lines.push('spec:');
  if (fields.owner !== undefined) lines.push(`  owner: ${fields.owner}`);
  if (fields.access !== undefined) lines.push(`  access: ${fields.access}`);
  if (fields.secretName !== undefined) lines.push(`  secretName: ${fields.secretName}`);
  if (fields.extra) lines.push(fields.extra);
  return lines.join('\n') + '\n';
}

function problem(source: string, options: { namespace?: string } = {}): string {
  try {
    parseUserManifests(source, options);
  } catch (err) {
    expect(err).toBeInstanceOf(ManifestError);
    return (err as Error).message;
  }
  throw new Error('expected a ManifestError');
}

describe('YAML subset parser', () => {
  it('parses the seed manifest, comment and all', () => {
    expect(parseYamlDocuments(seedManifest)).toEqual([
      {
        apiVersion: 'objectstorage.coreweave.com/v1alpha1',
        kind: 'User',
        metadata: { name: 'my-example', namespace: 'my-namespace' },
        spec: { owner: 'my-namespace', access: 'full', secretName: 'my-example-secret' },
      },
    ]);
  });

  it('handles quotes, escapes, comments, CRLF, a BOM and blank lines', () => {
    const src = '\uFEFF# leading comment\r\n\r\na: "x # not a comment"  # a comment\r\nb: \'it\'\'s\'\r\nc: "tab\\tnew\\nline \\u00e9 \\x41"\r\n"quoted key": 1\r\n\'single\': plain value with spaces\r\n';
    expect(parseYamlDocuments(src)).toEqual([{ a: 'x # not a comment', b: "it's", c: 'tab\tnew\nline é A', 'quoted key': 1, single: 'plain value with spaces' }]);
  });

  it('resolves plain scalars by the YAML 1.2 core schema', () => {
    const [doc] = parseYamlDocuments('a: null\nb: ~\nc:\nd: true\ne: False\nf: 42\ng: -1.5e3\nh: 0x1f\ni: "42"\nj: yes\nk: {}\nl: []\n');
    expect(doc).toEqual({ a: null, b: null, c: null, d: true, e: false, f: 42, g: -1500, h: 31, i: '42', j: 'yes', k: {}, l: [] });
  });

  it('splits documents on --- and skips empty ones; ... ends a document', () => {
    const docs = parseYamlDocuments('---\na: 1\n---\n# only a comment\n---\nb: 2\n...\n---\nc: 3\n');
    expect(docs).toEqual([{ a: 1 }, { b: 2 }, { c: 3 }]);
    expect(parseYamlDocuments('')).toEqual([]);
    expect(parseYamlDocuments('# nothing\n---\n')).toEqual([]);
  });

  it('nests mappings by indentation of any consistent width', () => {
    expect(parseYamlDocuments('a:\n    b:\n        c: d\n    e: f\ng: h\n')).toEqual([{ a: { b: { c: 'd' }, e: 'f' }, g: 'h' }]);
  });

  it('reads JSON input (an object, or an array of objects)', () => {
    expect(parseYamlDocuments('{"a": {"b": 1}}')).toEqual([{ a: { b: 1 } }]);
    expect(parseYamlDocuments('  [{"a": 1}]')).toEqual([[{ a: 1 }]]);
    expect(() => parseYamlDocuments('{"a": ')).toThrow(/invalid JSON/);
  });

  const refusals: [string, string, RegExp][] = [
    ['tab indentation', 'a:\n\tb: 1\n', /line 2: tabs are not allowed/],
    ['sequences', 'a:\n  - b\n', /line 2: sequences/],
    ['sequence at the same indent', 'a:\n- b\n', /line 2: sequences/],
    ['top-level sequence', '- a\n', /line 1: sequences/],
    ['flow mapping', 'a: {b: 1}\n', /line 1: flow collections/],
    ['flow sequence', 'a: [1, 2]\n', /line 1: flow collections/],
    ['block scalar', 'a: |\n  text\n', /line 1: block scalars/],
    ['anchor', 'a: &x 1\n', /anchors and aliases/],
    ['alias', 'a: *x\n', /anchors and aliases/],
    ['tag', 'a: !!str 1\n', /tags/],
    ['directive', '%YAML 1.2\n---\na: 1\n', /directives/],
    ['duplicate key', 'a: 1\na: 2\n', /line 2: duplicate key "a"/],
    ['bad indentation', 'a: 1\n  b: 2\n', /line 2: unexpected indentation/],
    ['multi-line plain scalar', 'a: one\n  two\n', /line 2: unexpected indentation/],
    ['unterminated quote', 'a: "abc\n', /line 1: unterminated double-quoted/],
    ['text after a quote', "a: 'x' y\n", /line 1: unexpected text after a quoted value/],
    ['colon-space in a plain value', 'a: b: c\n', /line 1: mapping values are not allowed/],
    ['missing colon', 'a: 1\nb\n', /line 2: expected "key: value"/],
    ['bad escape', 'a: "\\q"\n', /unknown escape/],
    ['content on ---', '--- a: 1\n', /content on a "---" line/],
    ['document not at column 1', '  a: 1\n', /must start at column 1/],
  ];
  for (const [what, src, message] of refusals) {
    it(`refuses ${what}`, () => {
      expect(() => parseYamlDocuments(src)).toThrow(YamlError);
      expect(() => parseYamlDocuments(src)).toThrow(message);
    });
  }

  it('does not let a key pollute Object.prototype', () => {
    const [doc] = parseYamlDocuments('__proto__:\n  polluted: yes\n') as [Record<string, unknown>];
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(doc)).toEqual(['__proto__']);
  });

  it('prints YAML that reads back to the same value', () => {
    const value = {
      apiVersion: 'v1',
      kind: 'List',
      items: [{ metadata: { name: 'x', ownerReferences: [{ kind: 'User', name: 'y' }] }, data: { a: 'true', b: '12', c: 'has: colon', d: ' lead', e: '', f: "it's #x", g: '-dash', h: 'line\nbreak' } }],
      empty: {},
      none: [],
      n: 3,
      t: true,
      z: null,
    };
    const text = toYaml(value);
    // sequences are printed, but the strict parser refuses them: compare a sequence-free part
    const { items, none, ...rest } = value;
    expect(parseYamlDocuments(toYaml(rest))).toEqual([rest]);
    expect(parseYamlDocuments(toYaml(items[0].data))).toEqual([items[0].data]);
    expect(text).toContain('items:\n- metadata:\n    name: x\n    ownerReferences:\n    - kind: User\n      name: y\n');
    expect(none).toEqual([]);
    expect(text).toContain('none: []');
  });
});

describe('User manifest validation', () => {
  it('accepts the seed manifest exactly', () => {
    expect(parseUserManifests(seedManifest)).toEqual([{ name: 'my-example', namespace: 'my-namespace', owner: 'my-namespace', access: 'full', secretName: 'my-example-secret' }]);
  });

  it('defaults the secret name to <namespace>-<name>-obj-store-creds', () => {
    const [m] = parseUserManifests(manifest({ name: 'u1', namespace: 'ns1', owner: 'org1', access: 'read' }));
    expect(m.secretName).toBe('ns1-u1-obj-store-creds');
    expect(defaultSecretName('ns1', 'u1')).toBe('ns1-u1-obj-store-creds');
    const [blank] = parseUserManifests(manifest({ name: 'u1', namespace: 'ns1', owner: 'org1', access: 'read', secretName: '""' }));
    expect(blank.secretName).toBe('ns1-u1-obj-store-creds');
  });

  it('accepts every access level of the seed and nothing else', () => {
    for (const access of ['full', 'readwrite', 'read', 'write']) {
      expect(parseUserManifests(manifest({ name: 'u', namespace: 'n', owner: 'o', access }))[0].access).toBe(access);
    }
    for (const access of ['admin', 'Full', 'READ', 'read-write', 'rw', '1', 'true']) {
      expect(problem(manifest({ name: 'u', namespace: 'n', owner: 'o', access }))).toMatch(/spec\.access: Unsupported value: .*supported values: "full", "readwrite", "read", "write"/);
    }
  });

  it('takes the namespace from -n when the manifest has none, and refuses a mismatch', () => {
    expect(parseUserManifests(manifest({ name: 'u', owner: 'o', access: 'read' }), { namespace: 'from-flag' })[0].namespace).toBe('from-flag');
    expect(problem(manifest({ name: 'u', namespace: 'a', owner: 'o', access: 'read' }), { namespace: 'b' })).toMatch(/does not match the namespace "b"/);
    expect(problem(manifest({ name: 'u', owner: 'o', access: 'read' }))).toMatch(/metadata\.namespace: Required value/);
  });

  const bad: [string, string, RegExp][] = [
    ['wrong apiVersion', seedManifest.replace('objectstorage.coreweave.com/v1alpha1', 'v1'), /apiVersion: Unsupported value: "v1": supported values: "objectstorage.coreweave.com\/v1alpha1"/],
    ['wrong kind', seedManifest.replace('kind: User', 'kind: Secret'), /kind: Unsupported value: "Secret": supported values: "User"/],
    ['missing apiVersion', seedManifest.replace(/^apiVersion.*\n/, ''), /apiVersion: Required value/],
    ['missing kind', seedManifest.replace(/kind: User\n/, ''), /kind: Required value/],
    ['missing metadata', 'apiVersion: objectstorage.coreweave.com/v1alpha1\nkind: User\nspec:\n  owner: o\n  access: read\n', /metadata: Required value/],
    ['missing spec', 'apiVersion: objectstorage.coreweave.com/v1alpha1\nkind: User\nmetadata:\n  name: a\n  namespace: b\n', /spec: Required value/],
    ['missing name', manifest({ namespace: 'n', owner: 'o', access: 'read' }), /metadata\.name: Required value/],
    ['missing owner', manifest({ name: 'u', namespace: 'n', access: 'read' }), /spec\.owner: Required value/],
    ['missing access', manifest({ name: 'u', namespace: 'n', owner: 'o' }), /spec\.access: Required value/],
    ['numeric name', manifest({ name: '123', namespace: 'n', owner: 'o', access: 'read' }), /metadata\.name: Invalid value: must be a string, got number 123/],
    ['upper-case name', manifest({ name: 'MyUser', namespace: 'n', owner: 'o', access: 'read' }), /metadata\.name: Invalid value: "MyUser": a lowercase RFC 1123 subdomain/],
    ['dotted namespace', manifest({ name: 'u', namespace: 'a.b', owner: 'o', access: 'read' }), /metadata\.namespace: Invalid value: "a\.b": a lowercase RFC 1123 label/],
    ['owner with underscore', manifest({ name: 'u', namespace: 'n', owner: 'my_org', access: 'read' }), /spec\.owner: Invalid value: "my_org"/],
    ['bad secret name', manifest({ name: 'u', namespace: 'n', owner: 'o', access: 'read', secretName: 'Bad/Name' }), /spec\.secretName: Invalid value: "Bad\/Name"/],
    ['unknown spec field', manifest({ name: 'u', namespace: 'n', owner: 'o', access: 'read', extra: '  quota: 10' }), /unknown field "spec\.quota"/],
    ['unknown top field', seedManifest + 'extra: 1\n', /unknown field "extra"/],
    ['spec as a string', 'apiVersion: objectstorage.coreweave.com/v1alpha1\nkind: User\nmetadata:\n  name: a\n  namespace: b\nspec: full\n', /spec: Invalid value: must be a mapping/],
    ['a scalar document', 'just words\n', /expected a User manifest \(a mapping/],
    ['an empty file', '# nothing here\n', /no objects passed to apply/],
    ['too-long default secret name', manifest({ name: 'x'.repeat(240), namespace: 'n'.repeat(20), owner: 'o', access: 'read' }), /default secret name .* must be no more than 253 characters/],
  ];
  for (const [what, src, message] of bad) {
    it(`refuses ${what} with a clear message`, () => {
      expect(problem(src)).toMatch(message);
    });
  }

  it('reports every problem at once', () => {
    const msg = problem(manifest({ name: 'Bad', extra: '  foo: 1' }));
    expect(msg).toMatch(/^error validating: User "Bad" is invalid: \[/);
    for (const p of ['metadata.name', 'metadata.namespace', 'spec.owner', 'spec.access', 'spec.foo']) expect(msg).toContain(p);
  });

  it('names the failing document of a multi-document file and validates all before returning', () => {
    const two = seedManifest + '---\n' + manifest({ name: 'b', namespace: 'n', owner: 'o', access: 'superuser' });
    expect(problem(two)).toMatch(/\(document 2\).*spec\.access: Unsupported value: "superuser"/);
    const ok = seedManifest + '---\n' + manifest({ name: 'b', namespace: 'n', owner: 'o', access: 'write' });
    expect(parseUserManifests(ok).map((m) => m.name)).toEqual(['my-example', 'b']);
  });

  it('reports YAML syntax errors with the origin and line', () => {
    expect(problem(seedManifest.replace('  owner: my-namespace', '\towner: my-namespace'))).toMatch(/error parsing: line 7: tabs are not allowed/);
    expect(() => parseUserManifests('a: "x\n', { origin: 'crd.yaml' })).toThrow(/error parsing "crd.yaml": line 1: unterminated/);
  });

  it('accepts JSON manifests, arrays and v1 Lists, and what get -o yaml prints (metadata/status ignored)', () => {
    const json = JSON.stringify({ apiVersion: 'objectstorage.coreweave.com/v1alpha1', kind: 'User', metadata: { name: 'j', namespace: 'n' }, spec: { owner: 'o', access: 'readwrite' } });
    expect(parseUserManifests(json)[0]).toMatchObject({ name: 'j', access: 'readwrite' });
    expect(parseUserManifests(`[${json},${json.replace('"j"', '"k"')}]`).map((m) => m.name)).toEqual(['j', 'k']);
    expect(parseUserManifests(JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [JSON.parse(json)] })).map((m) => m.name)).toEqual(['j']);
    const printed = seedManifest.replace('  namespace: my-namespace\n', '  namespace: my-namespace\n  creationTimestamp: 2024-01-01T00:00:00Z\n  labels:\n    team: ml\n') + 'status:\n  objectStorageAccess: ACTIVE\n';
    expect(parseUserManifests(printed)[0].name).toBe('my-example');
  });

  it('validateUserManifest refuses non-mappings', () => {
    expect(() => validateUserManifest(null)).toThrow(/got null/);
    expect(() => validateUserManifest([1])).toThrow(/got a list/);
  });
});
