// The origin of a change, as the store's change hook records it (src/store/change-hook.ts):
// which operation, request and requester caused it, for the event messages it leads to.
import type { ChangeOrigin } from '../store/change-hook.ts';
import type { RequestContext } from './operation.ts';

export function changeOrigin(ctx: RequestContext, operation: string): ChangeOrigin {
  return {
    operation,
    requestId: ctx.requestId,
    sourceIp: ctx.sourceIp,
    principalId: ctx.principal ? `${ctx.principal.org}:${ctx.principal.user}` : 'Anonymous',
  };
}
