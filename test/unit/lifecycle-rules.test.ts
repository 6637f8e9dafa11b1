// The lifecycle rules' decisions, without a server: AWS's midnight rounding, the short test day,
// filters put together, and the prefix a pass is limited to.
import { describe, expect, it } from 'vitest';
import { parseLifecycleDocument } from '../../src/lifecycle/document.ts';
import { currentExpiry, expiryAfter, REAL_DAY_MS, ruleMatches, scanPrefix, type LifecycleRule } from '../../src/lifecycle/rules.ts';

const rules = (xml: string) => parseLifecycleDocument(`<LifecycleConfiguration>${xml}</LifecycleConfiguration>`);

describe('expiryAfter', () => {
  it('adds the days and rounds up to the next midnight UTC with the real day, as AWS does', () => {
    // AWS's own example: created 2014-01-15 10:30 UTC, 3 days: expires 2014-01-19 00:00 UTC.
    expect(new Date(expiryAfter(Date.parse('2014-01-15T10:30:00Z'), 3, REAL_DAY_MS)).toISOString()).toBe('2014-01-19T00:00:00.000Z');
    expect(new Date(expiryAfter(Date.parse('2014-01-15T00:00:00Z'), 1, REAL_DAY_MS)).toISOString()).toBe('2014-01-16T00:00:00.000Z');
  });

  it('counts a shortened day from the time itself', () => {
    expect(expiryAfter(1_000_000, 5, 10_000)).toBe(1_050_000);
  });
});

describe('rules', () => {
  it('puts a Filter’s predicates together, and the earliest matching rule wins', () => {
    const config = rules(`
      <Rule><ID>late</ID><Filter><Prefix>logs/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>9</Days></Expiration></Rule>
      <Rule><ID>soon</ID><Filter><Prefix>logs/</Prefix><Tag><Key>t</Key><Value>1</Value></Tag><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan></Filter>
        <Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>`);
    const [late, soon] = config.rules as [LifecycleRule, LifecycleRule];
    expect(ruleMatches(soon, { key: 'logs/a', size: 11, tags: [['t', '1']] })).toBe(true);
    expect(ruleMatches(soon, { key: 'logs/a', size: 10, tags: [['t', '1']] })).toBe(false);
    expect(ruleMatches(soon, { key: 'logs/a', size: 11, tags: [['t', '2']] })).toBe(false);
    expect(ruleMatches(late, { key: 'other/a', size: 11, tags: [] })).toBe(false);
    expect(currentExpiry(config, { key: 'logs/a', size: 11, tags: [['t', '1']] }, 0, REAL_DAY_MS)?.ruleId).toBe('soon');
    expect(currentExpiry(config, { key: 'logs/a', size: 1, tags: [] }, 0, REAL_DAY_MS)?.ruleId).toBe('late');
  });

  it('limits a pass to the rules’ common prefix, and to nothing when a rule has none', () => {
    const rule = (prefix: string, status = 'Enabled') => `<Rule><ID>${prefix || 'all'}${status}</ID><Prefix>${prefix}</Prefix><Status>${status}</Status><Expiration><Days>1</Days></Expiration></Rule>`;
    expect(scanPrefix(rules(rule('logs/2024/') + rule('logs/2025/')))).toBe('logs/202');
    expect(scanPrefix(rules(rule('logs/') + rule('', 'Disabled')))).toBe('logs/');
    expect(scanPrefix(rules(rule('logs/') + rule('')))).toBe('');
  });
});
