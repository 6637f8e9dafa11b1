// Console sessions. Signing in exchanges an admin API token for a session: a random id in an
// HTTP-only, SameSite=Strict cookie scoped to /console, and a CSRF token that the page keeps in
// memory and sends as X-CSRF-Token on every request that changes something. The API token
// itself is never stored by the page nor kept here: the session remembers only the token's id,
// and every request looks the token up again, so revoking it ends its sessions at once.
//
// Sessions live in this process's memory: a restart (or another node behind a balancer) signs
// everyone out, which for an operator's console is the safe failure.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const sessionCookie = 'strata_console';
/** Idle and absolute lifetimes. */
export const sessionIdleMs = 30 * 60 * 1000;
export const sessionMaxMs = 12 * 60 * 60 * 1000;
/** Bounded: the oldest session is dropped when full. */
const maxSessions = 1000;

export interface Session {
  tokenId: string;
  csrf: string;
  createdAt: number;
  lastSeen: number;
}

export type SessionLookup = { ok: true; session: Session } | { ok: false; reason: 'missing' | 'expired' };

/** The Map is keyed by SHA-256 of the cookie value, so a lookup's timing says nothing about the value. */
function keyOf(id: string): string {
  return createHash('sha256').update(id, 'utf8').digest('hex');
}

export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly now: () => number = Date.now) {}

  create(tokenId: string): { id: string; session: Session } {
    const id = randomBytes(32).toString('base64url');
    const t = this.now();
    const session: Session = { tokenId, csrf: randomBytes(32).toString('base64url'), createdAt: t, lastSeen: t };
    if (this.sessions.size >= maxSessions) this.sessions.delete(this.sessions.keys().next().value!);
    this.sessions.set(keyOf(id), session);
    return { id, session };
  }

  /** The live session named by the cookie value; touching it extends its idle lifetime. */
  get(id: string | undefined): SessionLookup {
    if (!id) return { ok: false, reason: 'missing' };
    const key = keyOf(id);
    const session = this.sessions.get(key);
    if (!session) return { ok: false, reason: 'expired' };
    const t = this.now();
    if (t - session.lastSeen > sessionIdleMs || t - session.createdAt > sessionMaxMs) {
      this.sessions.delete(key);
      return { ok: false, reason: 'expired' };
    }
    session.lastSeen = t;
    return { ok: true, session };
  }

  delete(id: string | undefined): void {
    if (id) this.sessions.delete(keyOf(id));
  }
}

export function csrfMatches(session: Session, presented: string | undefined): boolean {
  if (presented === undefined) return false;
  const a = Buffer.from(session.csrf);
  const b = Buffer.from(presented);
  if (a.length !== b.length) {
    timingSafeEqual(a, a);
    return false;
  }
  return timingSafeEqual(a, b);
}

/** The value of cookie `name` in a Cookie header. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function sessionCookieHeader(id: string, secure: boolean): string {
  return `${sessionCookie}=${id}; Path=/console; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}; Max-Age=${sessionMaxMs / 1000}`;
}

export function clearedCookieHeader(): string {
  return `${sessionCookie}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0`;
}
