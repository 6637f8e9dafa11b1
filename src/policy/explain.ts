// Why a bucket policy decided as it did, statement by statement: whether each statement's
// principal, action and resource apply to the request, and each condition with the values the
// policy names, the values the request had and whether it held. Built from the same predicates
// evaluate.ts decides with (principalListed, actionListed, resourceListed, each condition's test),
// so an explanation cannot disagree with the decision. Pure: no HTTP or storage imports.
import { lookupAction } from './actions.ts';
import { actionListed, principalListed, resourceListed, type PolicyDecision, type RequestContext } from './evaluate.ts';
import type { ParsedPolicy } from './parse.ts';

export interface ConditionExplanation {
  operator: string;
  /** the key as the policy writes it */
  key: string;
  policyValues: readonly string[];
  /** what the request had for the key; null when it had none */
  requestValues: readonly string[] | null;
  holds: boolean;
}

export interface StatementExplanation {
  index: number;
  sid?: string;
  effect: 'Allow' | 'Deny';
  /** each part applies to this request (NotPrincipal / NotAction / NotResource taken into account) */
  principal: boolean;
  action: boolean;
  resource: boolean;
  conditions: ConditionExplanation[];
  /** every part applies and every condition holds */
  matches: boolean;
}

export interface PolicyExplanationDetail {
  decision: PolicyDecision;
  statements: StatementExplanation[];
}

export function explainStatements(policy: ParsedPolicy, ctx: RequestContext): PolicyExplanationDetail {
  const index = lookupAction(ctx.action)?.index ?? -1;
  const statements = policy.statements.map((s, i): StatementExplanation => {
    const conditions = s.conditions.map((c): ConditionExplanation => {
      const seen = ctx.conditions.get(c.key);
      return { operator: c.operator, key: c.keyName, policyValues: c.values, requestValues: seen && seen.length > 0 ? seen : null, holds: c.test(seen) };
    });
    const principal = principalListed(s.principals, ctx.principal) !== s.notPrincipal;
    const action = actionListed(s, index, ctx.action) !== s.notAction;
    const resource = resourceListed(s, ctx.resource) !== s.notResource;
    return { index: i, sid: s.sid, effect: s.effect, principal, action, resource, conditions, matches: principal && action && resource && conditions.every((c) => c.holds) };
  });
  const matching = statements.filter((s) => s.matches);
  const decision: PolicyDecision = matching.some((s) => s.effect === 'Deny') ? 'Deny' : matching.length > 0 ? 'Allow' : 'Pass';
  return { decision, statements };
}
