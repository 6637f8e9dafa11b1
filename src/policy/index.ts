// Bucket policies: parse + validate once (parse.ts), evaluate many times (evaluate.ts).
// Pure: no HTTP or storage imports.

export {
  ACTIONS, ACTION_COUNT, actionResourceKind, expandActionPattern, lookupAction, resourceArn,
  type ActionInfo, type ActionOrigin, type ActionResourceKind,
} from './actions.ts';
export {
  CK, CONDITION_KEYS, CONDITION_KEY_PREFIXES, CONDITION_OPERATORS, conditionKey, conditionValues,
  existingObjectTagKey, normalizeConditionKey, requestObjectTagKey,
  type CompiledCondition, type ConditionValues,
} from './conditions.ts';
export {
  MAX_POLICY_BYTES, POLICY_VERSIONS, parsePolicy,
  type CompiledStatement, type Effect, type ParsedPolicy, type ParseOptions, type PolicyVersion, type PrincipalSet,
} from './parse.ts';
export {
  evaluatePolicy, explainPolicy, policyMentionsExistingObjectTags, requiredConditionKeys, statementMatches,
  type PolicyDecision, type PolicyExplanation, type RequestContext, type RequestPrincipal,
} from './evaluate.ts';
