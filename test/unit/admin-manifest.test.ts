// YAML (the `yaml` package behind parseYamlDocuments) and the User manifest validator: the seed's
// manifest exactly, YAML as kubectl users write it, errors naming the line, and the printer
// reading back what it prints.
import { describe, expect, it } from 'vitest';
import { ManifestError, defaultSecretName, parseUserManifests, validateUserManifest } from '../../src/identity/manifest.ts';
import { parseYamlDocuments, toYaml, YamlError } from '../../src/identity/yaml.ts';
import { seedManifest } from '../helpers/seed.ts';

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

describe('YAML parser', () => {
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
    expect(() => parseYamlDocuments('{"a": ')).toThrow(/line 1: /);
  });

  it('reads YAML as kubectl users write it: flow mappings, lists, block scalars, anchors', () => {
    expect(parseYamlDocuments('metadata: {name: a, namespace: b}\nspec: {owner: b, access: read}\n')).toEqual([{ metadata: { name: 'a', namespace: 'b' }, spec: { owner: 'b', access: 'read' } }]);
    expect(parseYamlDocuments('items:\n- a: 1\n- [x, y]\nnested:\n  - b\n')).toEqual([{ items: [{ a: 1 }, ['x', 'y']], nested: ['b'] }]);
    expect(parseYamlDocuments('text: |\n  one\n  two\nfolded: >\n  a\n  b\n')).toEqual([{ text: 'one\ntwo\n', folded: 'a b\n' }]);
    expect(parseYamlDocuments('base: &b {access: read}\ncopy: *b\n')).toEqual([{ base: { access: 'read' }, copy: { access: 'read' } }]);
    expect(parseYamlDocuments('%YAML 1.2\n---\na: !!str 1\n')).toEqual([{ a: '1' }]);
  });

  const refusals: [string, string, RegExp][] = [
    ['tab indentation', 'a:\n\tb: 1\n', /^line 2: Tabs are not allowed/],
    ['duplicate key', 'a: 1\na: 2\n', /^line 2: Map keys must be unique/],
    ['bad indentation', 'a:\n  b: 1\n c: 2\n', /^line 3: /],
    ['unterminated quote', 'a: "abc\n', /^line \d: Missing closing "quote/],
    ['colon-space in a plain value', 'a: b: c\n', /^line 1: Nested mappings are not allowed/],
    ['missing colon', 'a: 1\nb\n', /^line 2: /],
    ['unclosed flow mapping', 'a: 1\nb: {c: 1\n', /^line 3: Flow map in block collection must be sufficiently indented and end with a \}$/],
    ['deep flow nesting', 'a: ' + '['.repeat(20000), /^line 1: collections nest deeper than 32 levels/],
    ['a binary tag', 'a: !!binary aGVsbG8=\n', /^line 1: only mappings, lists and plain scalars/],
    ['an alias bomb', 'a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n', /resource exhaustion/],
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
    expect(parseYamlDocuments(text)).toEqual([value]);
    expect(text).toContain('items:\n- metadata:\n    name: x\n    ownerReferences:\n    - kind: User\n      name: y\n');
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
    expect(problem(seedManifest.replace('  owner: my-namespace', '\towner: my-namespace'))).toMatch(/error parsing: line 7: Tabs are not allowed/);
    expect(() => parseUserManifests('a: "x\n', { origin: 'crd.yaml' })).toThrow(/error parsing "crd.yaml": line \d: Missing closing "quote/);
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
