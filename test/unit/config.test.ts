// Configuration: defaults < config file < environment < flags, validated once with messages that
// name the setting. Shown here for the inline-object limit, the newest setting.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';

describe('inlineMaxBytes', () => {
  it('defaults to 64 KiB and is read from the file, the environment and a flag, in that order of precedence', () => {
    expect(loadConfig({ env: {} }).inlineMaxBytes).toBe(65536);
    const dir = mkdtempSync(join(tmpdir(), 'strata-config-'));
    const file = join(dir, 'strata.json');
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(file, JSON.stringify({ inlineMaxBytes: 1000 }));
    expect(loadConfig({ env: {}, configFile: file }).inlineMaxBytes).toBe(1000);
    expect(loadConfig({ env: { STRATA_INLINE_MAX_BYTES: '2000' }, configFile: file }).inlineMaxBytes).toBe(2000);
    expect(loadConfig({ env: { STRATA_INLINE_MAX_BYTES: '2000' }, flags: { 'inline-max-bytes': '0' } }).inlineMaxBytes).toBe(0);
  });

  it('refuses values outside 0..1 MiB and non-integers, naming the setting', () => {
    expect(() => loadConfig({ env: { STRATA_INLINE_MAX_BYTES: '-1' } })).toThrow(ConfigError);
    expect(() => loadConfig({ env: { STRATA_INLINE_MAX_BYTES: String(2 * 1024 * 1024) } })).toThrow(/inlineMaxBytes must be 0-1048576/);
    expect(() => loadConfig({ env: { STRATA_INLINE_MAX_BYTES: 'lots' } })).toThrow(/STRATA_INLINE_MAX_BYTES: inlineMaxBytes must be an integer/);
  });
});
