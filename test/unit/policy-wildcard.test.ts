// The IAM wildcard matcher: the same answers as the regexes it replaced, in linear time on the
// inputs that made those regexes backtrack for minutes.
import { describe, expect, it } from 'vitest';
import { compileWildcard, foldCodePoint } from '../../src/policy/wildcard.ts';
import { evaluatePolicy } from '../../src/policy/evaluate.ts';
import { BUCKET, BUCKET_ARN, ctx, expectMalformed, doc, policy, stmt } from './policy-helpers.ts';

/** The pre-fix implementation, as an oracle for short inputs only (it backtracks). */
function regexOracle(pattern: string, ignoreCase: boolean): (s: string) => boolean {
  let source = '^';
  for (const ch of pattern) {
    if (ch === '*') source += '.*';
    else if (ch === '?') source += '.';
    else source += ch.replace(/[\\^$.|+()[\]{}/]/g, '\\$&');
  }
  const re = new RegExp(source + '$', ignoreCase ? 'isu' : 'su');
  return (s) => re.test(s);
}

/** A pattern that takes a backtracking matcher exponential time on a run of `a`s. */
const EVIL = '*a*a*a*a*a*a*a*a*a*a*a*a*b';
const RUN_LENGTHS = [40, 100, 1000];
/** Each case finishes in milliseconds; the regex matcher needed minutes for a run of 40. */
const PROMPTLY = { timeout: 10_000 };

describe('compileWildcard: edge cases', () => {
  it.each([
    ['', '', true], ['', 'a', false],
    ['*', '', true], ['*', 'anything/at:all', true],
    ['**', '', true], ['**', 'abc', true], ['a**b', 'ab', true], ['a**b', 'axyzb', true], ['a**b', 'axyzc', false],
    ['abc*', 'abc', true], ['abc*', 'abcdef', true], ['abc*', 'ab', false],
    ['a*b*', 'ab', true], ['a*b*', 'xab', false],
    ['ab?', 'abc', true], ['ab?', 'ab', false], ['ab?', 'abcd', false],
    ['?', '', false], ['??', 'a', false], ['*?', '', false], ['*?', 'a', true], ['?*?', 'ab', true], ['?*?', 'a', false],
    ['a.c*', 'abcd', false], ['a.c*', 'a.cd', true], ['a.c?', 'a.cd', true], ['a.c?', 'abcd', false],
    ['a+*', 'a+b', true], ['a+*', 'aab', false],
    ['(x)*', '(x)y', true], ['(x)*', 'xy', false],
    ['[ab]*', '[ab]c', true], ['[ab]*', 'ac', false],
    ['\\d*', '\\d1', true], ['\\d*', '1', false],
    ['$*^', '$x^', true], ['{1}?|', '{1}z|', true], ['a|b*', 'b', false],
    ['*\n*', 'a\nb', true], ['?', '\n', true],
    ['é*', 'éa', true], ['é*', 'ea', false], ['日本?', '日本語', true],
    ['?', '😀', true], ['??', '😀', false], ['*😀', 'x😀', true], ['😀?', '😀😀', true],
    ['a?c', 'a\ud800c', true], ['\ud800*', '\ud800x', true],
  ] as const)('%j vs %j (case-sensitive) → %s', (pattern, input, expected) => {
    expect(compileWildcard(pattern, false)(input)).toBe(expected);
    expect(regexOracle(pattern, false)(input)).toBe(expected);
  });

  it.each([
    ['s3:get*', 'S3:GETOBJECT', true], ['S3:?ETOBJECT*', 's3:getobject', true],
    ['s3:get?', 's3:GETS', true], ['s3:*acl', 's3:GetObjectACL', true], ['s3:*acl', 's3:GetObjectAcc', false],
    ['s3:ſ*', 's3:S', true], ['s3:K*', 's3:k', true], ['ı*', 'i', false], ['ı*', 'I', false],
    ['σ*', 'Σ', true], ['σ*', 'ς', true], ['ß*', 'SS', false], ['ǆ*', 'ǅ', true],
  ] as const)('%j vs %j (ignore case) → %s', (pattern, input, expected) => {
    expect(compileWildcard(pattern, true)(input)).toBe(expected);
    expect(regexOracle(pattern, true)(input)).toBe(expected);
  });

  it('agrees with the regex matcher on every short pattern and subject over a small alphabet', () => {
    const patternAlphabet = ['a', 'b', '*', '?', '.'];
    const subjectAlphabet = ['a', 'b', '.', 'A'];
    const strings = (alphabet: string[], maxLength: number): string[] => {
      const out = [''];
      let frontier = [''];
      for (let n = 1; n <= maxLength; n++) {
        frontier = frontier.flatMap((s) => alphabet.map((c) => s + c));
        out.push(...frontier);
      }
      return out;
    };
    const patterns = strings(patternAlphabet, 4);
    const subjects = strings(subjectAlphabet, 4);
    let compared = 0;
    for (const ignoreCase of [false, true]) {
      for (const pattern of patterns) {
        const ours = compileWildcard(pattern, ignoreCase);
        const theirs = regexOracle(pattern, ignoreCase);
        for (const subject of subjects) {
          if (ours(subject) !== theirs(subject)) expect.fail(`${JSON.stringify(pattern)} vs ${JSON.stringify(subject)}, ignoreCase ${ignoreCase}`);
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThan(500_000);
  });

  it('ignoring case, two code points match exactly when a regex with flags "iu" says they do', () => {
    // Every code point with a case mapping, and what it maps to: the only ones a case-insensitive
    // comparison can pair with anything but themselves.
    const cased = new Set<string>();
    for (let cp = 0; cp <= 0x10ffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const ch = String.fromCodePoint(cp);
      const lower = ch.toLowerCase();
      const upper = ch.toUpperCase();
      if (lower === ch && upper === ch) {
        if (foldCodePoint(cp) !== cp) expect.fail(`U+${cp.toString(16)} has no case but folds`);
        continue;
      }
      cased.add(ch);
      for (const mapped of [lower, upper]) if ([...mapped].length === 1) cased.add(mapped);
    }
    const all = [...cased];
    const joined = all.join('');
    const byFold = new Map<number, Set<string>>();
    for (const ch of all) {
      const f = foldCodePoint(ch.codePointAt(0)!);
      if (!byFold.has(f)) byFold.set(f, new Set());
      byFold.get(f)!.add(ch);
    }
    for (const ch of all) {
      const escaped = ch.replace(/[\\^$.|+()[\]{}/*?]/g, '\\$&');
      const regexMatches = new Set([...joined.matchAll(new RegExp(escaped, 'giu'))].map((m) => m[0]));
      const foldMatches = byFold.get(foldCodePoint(ch.codePointAt(0)!))!;
      if (regexMatches.size !== foldMatches.size || [...regexMatches].some((m) => !foldMatches.has(m))) {
        expect.fail(`U+${ch.codePointAt(0)!.toString(16)}: regex ${[...regexMatches].join(' ')}, fold ${[...foldMatches].join(' ')}`);
      }
    }
    expect(all.length).toBeGreaterThan(2000);
  });
});

describe('compileWildcard: no exponential backtracking', () => {
  it.each(RUN_LENGTHS)('%s × "a" against *a*a…*a*b, both cases', (n) => {
    const subject = 'a'.repeat(n);
    expect(compileWildcard(EVIL, false)(subject)).toBe(false);
    expect(compileWildcard(EVIL, true)(subject)).toBe(false);
    expect(compileWildcard(EVIL, false)(subject + 'b')).toBe(true);
    expect(compileWildcard('*?*?*?*?*?*?*?*?*?*?*?*?*?*?x', true)(subject)).toBe(false);
  }, PROMPTLY.timeout);
});

describe('policies with backtracking-prone wildcards are evaluated promptly', () => {
  const key = (n: number) => 'a'.repeat(n);
  const objectArn = (n: number) => `${BUCKET_ARN}/${key(n)}`;

  it.each(RUN_LENGTHS)('Resource and NotResource, key of %s "a"s', (n) => {
    const allow = policy(stmt({ Resource: `${BUCKET_ARN}/${EVIL}` }));
    expect(evaluatePolicy(allow, ctx({ resource: objectArn(n) }))).toBe('Pass');
    expect(evaluatePolicy(allow, ctx({ resource: objectArn(n) + 'b' }))).toBe('Allow');
    const deny = policy(stmt({ Effect: 'Deny', Resource: undefined, NotResource: `${BUCKET_ARN}/${EVIL}` }));
    expect(evaluatePolicy(deny, ctx({ resource: objectArn(n) }))).toBe('Deny');
    // The bucket part of a Resource pattern is matched against the bucket name at parse time.
    const bucketPattern = `arn:aws:s3:::*h*a*p*p*y*b*u*c*k*e*t*/${EVIL}`;
    expect(evaluatePolicy(policy(stmt({ Resource: bucketPattern })), ctx({ resource: objectArn(n) }))).toBe('Pass');
  }, PROMPTLY.timeout);

  it('Action and NotAction patterns, at parse time and against names outside the table', () => {
    // The action table is matched while the policy is parsed: a regex hung PutBucketPolicy itself.
    expectMalformed(doc(stmt({ Action: 's3:*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?x' })), 'Policy has invalid action');
    const p = policy(stmt({ Action: ['s3:GetObject', 's3:*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?t'] }));
    expect(evaluatePolicy(p, ctx({ action: 's3:GetObject' }))).toBe('Allow');
    expect(evaluatePolicy(p, ctx({ action: `s3:${'a'.repeat(1000)}` }))).toBe('Pass');
    expect(evaluatePolicy(p, ctx({ action: `s3:${'a'.repeat(1000)}t` }))).toBe('Allow');
    const notAction = policy(stmt({ Effect: 'Deny', Action: undefined, NotAction: 's3:*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?t' }));
    expect(evaluatePolicy(notAction, ctx({ action: `s3:${'a'.repeat(1000)}` }))).toBe('Deny');
  }, PROMPTLY.timeout);

  // Every operator that compiles wildcards: StringLike and StringNotLike, with IfExists and the set
  // qualifiers, on the request keys an anonymous caller controls.
  const cases: [string, string, boolean][] = [
    ['StringLike', 'aws:Referer', false],
    ['StringLikeIfExists', 'aws:UserAgent', false],
    ['ForAnyValue:StringLike', 's3:prefix', false],
    ['ForAllValues:StringLike', 'aws:Referer', false],
    ['StringNotLike', 'aws:UserAgent', true],
    ['StringNotLikeIfExists', 's3:prefix', true],
    ['ForAnyValue:StringNotLike', 'aws:Referer', true],
    ['ForAllValues:StringNotLike', 'aws:UserAgent', true],
  ];
  for (const n of RUN_LENGTHS) {
    it.each(cases)(`%s on %s, value of ${n} "a"s`, (operator, keyName, holds) => {
      const p = policy(stmt({ Condition: { [operator]: { [keyName]: ['x', EVIL] } } }));
      const value = 'a'.repeat(n);
      expect(evaluatePolicy(p, ctx({ cond: { [keyName]: value } }))).toBe(holds ? 'Allow' : 'Pass');
      expect(evaluatePolicy(p, ctx({ cond: { [keyName]: value + 'b' } }))).toBe(holds ? 'Pass' : 'Allow');
    }, PROMPTLY.timeout);
  }

  it('ArnLike and ArnNotLike compile to the same linear matcher as StringLike', () => {
    for (const [operator, holds] of [['ArnLike', false], ['ArnNotLike', true]] as const) {
      const p = policy(stmt({ Condition: { [operator]: { 'aws:SourceArn': ['x', EVIL] } } }));
      expect(evaluatePolicy(p, ctx({ cond: { 'aws:SourceArn': 'a'.repeat(1000) } }))).toBe(holds ? 'Allow' : 'Pass');
    }
  }, PROMPTLY.timeout);
});
