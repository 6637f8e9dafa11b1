// Console sessions expire after 30 idle minutes and 12 hours in all, and a presented cookie or
// CSRF token is compared without revealing how much of it matched.
import { describe, expect, it } from 'vitest';
import { SessionStore, csrfMatches, readCookie, sessionIdleMs, sessionMaxMs } from '../../src/console/session.ts';

describe('SessionStore', () => {
  it('expires an idle session, and any session after its maximum lifetime even when in use', () => {
    let now = 1_000_000;
    const store = new SessionStore(() => now);
    const idle = store.create('tok1');
    now += sessionIdleMs - 1;
    expect(store.get(idle.id).ok).toBe(true);
    now += sessionIdleMs + 1;
    expect(store.get(idle.id)).toEqual({ ok: false, reason: 'expired' });

    const busy = store.create('tok2');
    const end = now + sessionMaxMs;
    while (now < end - sessionIdleMs / 2) {
      now += sessionIdleMs / 2;
      expect(store.get(busy.id).ok).toBe(true);
    }
    now = end + 1;
    expect(store.get(busy.id).ok).toBe(false);
  });

  it('tells a missing cookie from an unknown one; signing out ends only that session', () => {
    const store = new SessionStore();
    expect(store.get(undefined)).toEqual({ ok: false, reason: 'missing' });
    expect(store.get('made-up')).toEqual({ ok: false, reason: 'expired' });
    const a = store.create('tok');
    const b = store.create('tok');
    store.delete(a.id);
    expect(store.get(a.id).ok).toBe(false);
    expect(store.get(b.id).ok).toBe(true);
  });

  it('checks the CSRF token exactly', () => {
    const { session } = new SessionStore().create('tok');
    expect(csrfMatches(session, session.csrf)).toBe(true);
    expect(csrfMatches(session, session.csrf.slice(0, -1) + (session.csrf.endsWith('A') ? 'B' : 'A'))).toBe(false);
    expect(csrfMatches(session, session.csrf.slice(1))).toBe(false);
    expect(csrfMatches(session, undefined)).toBe(false);
  });

  it('reads one cookie among several', () => {
    expect(readCookie('a=1; strata_console=xyz; b=2', 'strata_console')).toBe('xyz');
    expect(readCookie('strata_consolex=1', 'strata_console')).toBeUndefined();
    expect(readCookie(undefined, 'strata_console')).toBeUndefined();
  });
});
