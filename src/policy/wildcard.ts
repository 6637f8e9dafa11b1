// IAM wildcard patterns (`*` any run of characters, `?` exactly one), matched without regular
// expressions. Patterns come from bucket policies that any bucket owner may store, and a
// backtracking regex for `*a*a*a…b` takes exponential time on a long run of `a`s: one request
// would stall the event loop for every tenant. The matcher below is the greedy two-pointer
// algorithm with one resume point (the most recent `*`): at most O(pattern × subject) steps.
//
// Semantics are those of the regexes this replaces (`^…$` with flags `su`, plus `i` when ignoring
// case): `*` and `?` also match `/`, `:` and newlines; `?` is one code point (a surrogate pair is
// one character); everything else is literal.

/** Token for `*` in a compiled pattern (code points are never negative). */
const ANY_RUN = -1;
/** Token for `?`. */
const ANY_ONE = -2;

export function hasWildcards(pattern: string): boolean {
  return pattern.includes('*') || pattern.includes('?');
}

function codePointWidth(cp: number): number {
  return cp > 0xffff ? 2 : 1;
}

function isOneCodePoint(s: string): boolean {
  return s.length === 1 || (s.length === 2 && s.codePointAt(0)! > 0xffff);
}

// Where JavaScript's case mappings disagree with the Unicode simple case folding that a regex with
// flags `iu` applies. Found by comparing every cased code point against such a regex (the unit
// test repeats that comparison): dotless ı folds to itself, not to i; three characters whose
// upper case has several code points fold onto another character.
const FOLD_EXCEPTIONS: ReadonlyMap<number, number> = new Map([
  [0x0131, 0x0131], // ı
  [0x1fd3, 0x0390], // ΐ → ΐ
  [0x1fe3, 0x03b0], // ΰ → ΰ
  [0xfb05, 0xfb06], // ﬅ → ﬆ
]);

/**
 * One representative of the code point's case-insensitive class: two code points match ignoring
 * case exactly when their folds are equal.
 */
export function foldCodePoint(cp: number): number {
  if (cp < 0x80) return cp >= 0x41 && cp <= 0x5a ? cp + 0x20 : cp;
  const exception = FOLD_EXCEPTIONS.get(cp);
  if (exception !== undefined) return exception;
  const ch = String.fromCodePoint(cp);
  const upper = ch.toUpperCase();
  if (isOneCodePoint(upper)) {
    const lower = upper.toLowerCase();
    if (isOneCodePoint(lower)) return lower.codePointAt(0)!;
  }
  const lower = ch.toLowerCase();
  return isOneCodePoint(lower) ? lower.codePointAt(0)! : cp;
}

/** The pattern as tokens: ANY_RUN, ANY_ONE, or a literal (folded) code point. Runs of `*` collapse. */
function tokenize(pattern: string, ignoreCase: boolean): Int32Array {
  const tokens: number[] = [];
  for (let i = 0; i < pattern.length;) {
    const cp = pattern.codePointAt(i)!;
    i += codePointWidth(cp);
    if (cp === 0x2a /* * */) {
      if (tokens[tokens.length - 1] !== ANY_RUN) tokens.push(ANY_RUN);
    } else if (cp === 0x3f /* ? */) tokens.push(ANY_ONE);
    else tokens.push(ignoreCase ? foldCodePoint(cp) : cp);
  }
  return Int32Array.from(tokens);
}

/**
 * Does the whole of `subject` match the tokens? Literals and `?` advance both sides; a `*` first
 * matches nothing, and on a mismatch the most recent `*` takes one more character and the rest
 * of the pattern is tried again from there. Earlier `*`s never need to take more: anything they
 * could absorb, the later `*` can absorb as well. So there is one resume point, not a tree.
 */
function matchTokens(tokens: Int32Array, subject: string, ignoreCase: boolean): boolean {
  const patternEnd = tokens.length;
  let p = 0;
  let i = 0;
  let resumeToken = -1; // index just after the most recent `*`, or -1 if none seen yet
  let resumeAt = 0; // where in the subject that `*`'s match currently ends
  while (i < subject.length) {
    const cp = subject.codePointAt(i)!;
    if (p < patternEnd) {
      const token = tokens[p]!;
      if (token === ANY_RUN) {
        resumeToken = ++p;
        resumeAt = i;
        continue;
      }
      if (token === ANY_ONE || token === (ignoreCase ? foldCodePoint(cp) : cp)) {
        p++;
        i += codePointWidth(cp);
        continue;
      }
    }
    if (resumeToken < 0) return false;
    resumeAt += codePointWidth(subject.codePointAt(resumeAt)!);
    i = resumeAt;
    p = resumeToken;
  }
  while (p < patternEnd && tokens[p] === ANY_RUN) p++;
  return p === patternEnd;
}

/**
 * Compile an IAM wildcard pattern: `*` matches any run of characters (including `/` and `:`), `?`
 * exactly one character (one code point). Everything else is literal, including `${...}`: policy
 * variables are not interpreted (seed: "Bucket policies do not yet support string interpolation").
 * Returns a predicate; patterns without wildcards compile to string equality.
 */
export function compileWildcard(pattern: string, ignoreCase: boolean): (s: string) => boolean {
  if (!hasWildcards(pattern)) {
    if (!ignoreCase) return (s) => s === pattern;
    const lower = pattern.toLowerCase();
    return (s) => s.length === lower.length && s.toLowerCase() === lower;
  }
  if (pattern === '*') return () => true;
  const body = pattern.slice(0, -1);
  if (!ignoreCase && pattern.endsWith('*') && !hasWildcards(body)) {
    return (s) => s.startsWith(body);
  }
  const tokens = tokenize(pattern, ignoreCase);
  return (s) => matchTokens(tokens, s, ignoreCase);
}
