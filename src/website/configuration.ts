// The WebsiteConfiguration document of PutBucketWebsite / GetBucketWebsite: parsed and validated
// the way AWS validates it (the error codes and messages below are AWS's, as Ceph RGW and
// CloudServer reproduce them), and rendered back. Pure: no I/O, no HTTP.
import { S3Error } from '../errors.ts';
import type { WebsiteConfiguration, WebsiteRedirect, WebsiteRoutingRule } from '../store/types.ts';
import { parseXml, renderXml, textOf, type XmlObject } from '../xml/xml.ts';

/** AWS accepts at most 50 routing rules in one configuration. */
export const maxRoutingRules = 50;
/** Keys and key prefixes are object keys: at most 1024 bytes. */
const maxKeyBytes = 1024;
/** A host name (with an optional port): it becomes the authority of a Location header. */
const hostNamePattern = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})(:\d{1,5})?$/;

type Element = Record<string, unknown>;

const malformed = (message?: string) => new S3Error('MalformedXML', message);

/**
 * The named child, refused when repeated (the schema allows each element once). Text children
 * come back as strings, containers as objects.
 */
function child(parent: Element, name: string): unknown {
  const value = parent[name];
  if (Array.isArray(value)) throw malformed();
  return value;
}

/** A container element: an object (an empty element parses as ''), else MalformedXML. */
function container(value: unknown): Element {
  if (value === '') return {};
  if (typeof value !== 'object' || value === null) throw malformed();
  return value as Element;
}

/** Refuse elements the schema does not define here (whitespace between elements is fine). */
function onlyChildren(element: Element, allowed: readonly string[]): void {
  for (const [name, value] of Object.entries(element)) {
    if (name.startsWith('@_')) continue;
    if (name === '#text' && String(value).trim() === '') continue;
    if (!allowed.includes(name)) throw malformed();
  }
}

/** A text element's value; a container where text belongs is MalformedXML. */
function text(parent: Element, name: string): string | undefined {
  const value = child(parent, name);
  if (value === undefined) return undefined;
  const s = textOf(value);
  if (s === undefined || (typeof value === 'object' && Object.keys(value as object).some((k) => k !== '#text' && !k.startsWith('@_')))) throw malformed();
  return s;
}

function protocolOf(parent: Element): 'http' | 'https' | undefined {
  const protocol = text(parent, 'Protocol');
  if (protocol === undefined) return undefined;
  if (protocol !== 'http' && protocol !== 'https') {
    throw new S3Error('InvalidRequest', 'Invalid protocol, protocol can be http or https. If not defined the protocol will be selected automatically.');
  }
  return protocol;
}

function hostNameOf(parent: Element, emptyMessage: string): string | undefined {
  const hostName = text(parent, 'HostName');
  if (hostName === undefined) return undefined;
  if (hostName === '') throw new S3Error('InvalidRequest', emptyMessage);
  // AWS takes any string; a value that is not a host name would make a broken (or injected)
  // Location header, so it is refused here.
  if (!hostNamePattern.test(hostName)) throw new S3Error('InvalidRequest', `The host name "${hostName}" is not a valid host name.`);
  return hostName;
}

function keyValue(parent: Element, name: string, allowEmpty: boolean): string | undefined {
  const value = text(parent, name);
  if (value === undefined) return undefined;
  if ((!allowEmpty && value === '') || Buffer.byteLength(value) > maxKeyBytes) throw new S3Error('InvalidArgument', `The ${name} is not well formed`, { ArgumentName: name, ArgumentValue: value });
  return value;
}

/** An HTTP code element: a number (else MalformedXML) within [low, high] (else InvalidRequest). */
function codeOf(parent: Element, name: string, valid: (code: number) => boolean, invalid: (code: number) => string): number | undefined {
  const value = text(parent, name);
  if (value === undefined) return undefined;
  if (!/^\s*\d{1,9}\s*$/.test(value)) throw malformed(`The provided HTTP ${name === 'HttpRedirectCode' ? 'redirect' : 'error'} code is not valid. It should be a string containing a number.`);
  const code = Number(value);
  if (!valid(code)) throw new S3Error('InvalidRequest', invalid(code));
  return code;
}

function parseRedirectAll(element: Element): NonNullable<WebsiteConfiguration['redirectAllRequestsTo']> {
  onlyChildren(element, ['HostName', 'Protocol']);
  const message = 'A host name must be provided to redirect all requests (e.g. "example.com").';
  const hostName = hostNameOf(element, message);
  if (hostName === undefined) throw new S3Error('InvalidRequest', message);
  const protocol = protocolOf(element);
  return protocol ? { hostName, protocol } : { hostName };
}

function parseRedirect(element: Element): WebsiteRedirect {
  onlyChildren(element, ['Protocol', 'HostName', 'ReplaceKeyPrefixWith', 'ReplaceKeyWith', 'HttpRedirectCode']);
  const redirect: WebsiteRedirect = {};
  const protocol = protocolOf(element);
  if (protocol) redirect.protocol = protocol;
  const hostName = hostNameOf(element, 'The HostName of a Redirect must not be empty.');
  if (hostName !== undefined) redirect.hostName = hostName;
  // An empty ReplaceKeyPrefixWith is meaningful: it removes the matched prefix.
  const prefix = keyValue(element, 'ReplaceKeyPrefixWith', true);
  const key = keyValue(element, 'ReplaceKeyWith', true);
  if (prefix !== undefined && key !== undefined) throw new S3Error('InvalidRequest', 'You can only define ReplaceKeyPrefix or ReplaceKey but not both.');
  if (prefix !== undefined) redirect.replaceKeyPrefixWith = prefix;
  if (key !== undefined) redirect.replaceKeyWith = key;
  const code = codeOf(
    element,
    'HttpRedirectCode',
    (c) => c > 300 && c < 400,
    (c) => `The provided HTTP redirect code (${c}) is not valid. Valid codes are 3XX except 300.`,
  );
  if (code !== undefined) redirect.httpRedirectCode = code;
  if (Object.keys(element).filter((k) => !k.startsWith('@_') && k !== '#text').length === 0) {
    throw malformed('A Redirect must contain at least one of Protocol, HostName, ReplaceKeyPrefixWith, ReplaceKeyWith or HttpRedirectCode.');
  }
  return redirect;
}

function parseRule(value: unknown): WebsiteRoutingRule {
  const element = container(value);
  onlyChildren(element, ['Condition', 'Redirect']);
  const redirectElement = child(element, 'Redirect');
  if (redirectElement === undefined) throw malformed('A RoutingRule must have a Redirect.');
  const rule: WebsiteRoutingRule = { redirect: parseRedirect(container(redirectElement)) };
  const conditionElement = child(element, 'Condition');
  if (conditionElement !== undefined) {
    const condition = container(conditionElement);
    onlyChildren(condition, ['KeyPrefixEquals', 'HttpErrorCodeReturnedEquals']);
    const keyPrefixEquals = keyValue(condition, 'KeyPrefixEquals', true);
    const httpErrorCodeReturnedEquals = codeOf(
      condition,
      'HttpErrorCodeReturnedEquals',
      (c) => c >= 400 && c < 600,
      (c) => `The provided HTTP error code (${c}) is not valid. Valid codes are 4XX or 5XX.`,
    );
    if (keyPrefixEquals === undefined && httpErrorCodeReturnedEquals === undefined) {
      throw new S3Error('InvalidRequest', "Condition cannot be empty. To redirect all requests without a condition, the condition element shouldn't be present.");
    }
    rule.condition = {};
    if (keyPrefixEquals !== undefined) rule.condition.keyPrefixEquals = keyPrefixEquals;
    if (httpErrorCodeReturnedEquals !== undefined) rule.condition.httpErrorCodeReturnedEquals = httpErrorCodeReturnedEquals;
  }
  return rule;
}

/** Parse and validate a PutBucketWebsite body. Every refusal is an S3Error; nothing is stored here. */
export function parseWebsiteConfiguration(body: Buffer | string): WebsiteConfiguration {
  const doc = parseXml(body, { arrays: ['RoutingRule'] });
  const rootValue = doc.WebsiteConfiguration;
  if (rootValue === undefined || Object.keys(doc).some((k) => k !== 'WebsiteConfiguration')) throw malformed();
  const root = container(rootValue);
  onlyChildren(root, ['IndexDocument', 'ErrorDocument', 'RedirectAllRequestsTo', 'RoutingRules']);
  const redirectAll = child(root, 'RedirectAllRequestsTo');
  const indexDocument = child(root, 'IndexDocument');
  const errorDocument = child(root, 'ErrorDocument');
  const routingRules = child(root, 'RoutingRules');

  if (redirectAll !== undefined) {
    if (indexDocument !== undefined || errorDocument !== undefined || routingRules !== undefined) {
      throw new S3Error('InvalidRequest', 'RedirectAllRequestsTo cannot be provided in conjunction with other Routing Rules.');
    }
    return { redirectAllRequestsTo: parseRedirectAll(container(redirectAll)) };
  }
  if (indexDocument === undefined) {
    throw new S3Error('InvalidArgument', 'A value for IndexDocument Suffix must be provided if RedirectAllRequestsTo is empty', { ArgumentName: 'IndexDocument', ArgumentValue: 'null' });
  }
  const config: WebsiteConfiguration = {};
  const index = container(indexDocument);
  onlyChildren(index, ['Suffix']);
  const suffix = text(index, 'Suffix');
  if (suffix === undefined) throw malformed();
  if (suffix === '' || suffix.includes('/') || Buffer.byteLength(suffix) > maxKeyBytes) {
    throw new S3Error('InvalidArgument', 'The IndexDocument Suffix is not well formed', { ArgumentName: 'IndexDocument', ArgumentValue: suffix });
  }
  config.indexSuffix = suffix;

  if (errorDocument !== undefined) {
    const error = container(errorDocument);
    onlyChildren(error, ['Key']);
    const key = text(error, 'Key');
    if (key === undefined) throw malformed();
    if (key === '' || Buffer.byteLength(key) > maxKeyBytes) throw new S3Error('InvalidArgument', 'The ErrorDocument Key is not well formed', { ArgumentName: 'ErrorDocument', ArgumentValue: key });
    config.errorKey = key;
  }

  if (routingRules !== undefined) {
    const rules = container(routingRules);
    onlyChildren(rules, ['RoutingRule']);
    const list = (rules.RoutingRule as unknown[] | undefined) ?? [];
    if (list.length === 0) throw malformed('RoutingRules must contain at least one RoutingRule.');
    if (list.length > maxRoutingRules) throw new S3Error('InvalidRequest', `The number of routing rules must not exceed the allowed limit of ${maxRoutingRules} rules.`);
    config.routingRules = list.map(parseRule);
  }
  return config;
}

function redirectXml(r: WebsiteRedirect): XmlObject {
  return {
    HostName: r.hostName,
    HttpRedirectCode: r.httpRedirectCode,
    Protocol: r.protocol,
    ReplaceKeyPrefixWith: r.replaceKeyPrefixWith,
    ReplaceKeyWith: r.replaceKeyWith,
  };
}

/** The GetBucketWebsite document, elements in the order AWS answers them. */
export function renderWebsiteConfiguration(config: WebsiteConfiguration): string {
  const all = config.redirectAllRequestsTo;
  return renderXml('WebsiteConfiguration', {
    RedirectAllRequestsTo: all ? { HostName: all.hostName, Protocol: all.protocol } : undefined,
    IndexDocument: config.indexSuffix !== undefined ? { Suffix: config.indexSuffix } : undefined,
    ErrorDocument: config.errorKey !== undefined ? { Key: config.errorKey } : undefined,
    RoutingRules: config.routingRules
      ? {
          RoutingRule: config.routingRules.map((rule) => ({
            Condition: rule.condition
              ? { HttpErrorCodeReturnedEquals: rule.condition.httpErrorCodeReturnedEquals, KeyPrefixEquals: rule.condition.keyPrefixEquals }
              : undefined,
            Redirect: redirectXml(rule.redirect),
          })),
        }
      : undefined,
  });
}
