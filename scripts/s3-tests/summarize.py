#!/usr/bin/env python3
"""Summarise a ceph/s3-tests junit XML run against Strata, per feature group.

usage: summarize.py JUNIT_XML [--failures] [--json OUT.json] [--source test_s3.py]

Failures that say nothing about Strata are counted apart as n/a:
  client      the test cannot be sent by Debian's botocore 1.29 / awscrt (ParamValidationError for
              newer parameters, awscrt refusing a presigned URL with expiry <= 0, parameters
              botocore drops unsent: SILENTLY_DROPPED)
With --source, tests s3-tests marks fails_on_aws (RGW-only behaviour) are tagged [fails_on_aws].

Groups are chosen from the test name by the first matching pattern below (order matters: a
test named test_multipart_copy_* is a copy test, test_copy_object_ifmatch_* is a copy test,
test_bucket_policy_put_obj_acl is a bucket-policy test).
"""
import json
import re
import sys
import xml.etree.ElementTree as ET

GROUPS = [
    ('post-object', r'post_object'),
    ('encryption (SSE-C)', r'sse_c|encrypted_transfer|encryption|enc_conflict'),
    ('bucket policy', r'policy|public_block|block_public|ignore_public_acls'),
    ('checksums', r'checksum|cksum'),
    ('ACL', r'acl|grant|access_bucket_'),
    ('copy', r'copy'),
    ('multipart', r'multipart|_part(_|$)|resend_first'),
    ('conditional', r'if_?match|if_?none|ifnon|modifiedsince|conditional'),
    ('range', r'^test_ranged'),
    ('versioning', r'versioning|versioned|version_id|delete_marker'),
    ('bucket', r'list_buckets|buckets_'),
    ('listing', r'bucket_list|bucket_listv2|key_count|list_objects'),
    ('bucket', r'bucket|get_location'),
    ('object', r'object|obj|atomic|continue|tags|tagging'),
    ('other', r'.'),
]
ORDER = ['bucket', 'object', 'listing', 'versioning', 'multipart', 'copy', 'range', 'conditional', 'checksums',
         'bucket policy', 'ACL', 'encryption (SSE-C)', 'post-object', 'other']


def group_of(name):
    base = name.split('[')[0]
    if 'sse-c' in name[len(base):]:
        return 'encryption (SSE-C)'
    for group, pattern in GROUPS:
        if re.search(pattern, base):
            return group
    return 'other'


def one_line(text):
    """The most telling line of a failure message / traceback."""
    if not text:
        return ''
    lines = [l.strip() for l in text.splitlines() if l.strip()]
    # pytest puts "E   ..." lines in the body; prefer the first E line that names an error
    e_lines = [l[1:].strip() for l in lines if l.startswith('E ')]
    for l in e_lines:
        if re.search(r'Error|assert|Exception|error occurred', l):
            return l[:300]
    if e_lines:
        return e_lines[0][:300]
    return lines[0][:300]


# Tests whose new parameters Debian's botocore drops without a word (its ListBuckets has no input
# shape at all), so what reaches the server is another request than the test means.
SILENTLY_DROPPED = {'test_list_buckets_paginated'}


def not_applicable(message, name=''):
    if name.split('[')[0] in SILENTLY_DROPPED:
        return 'client'
    if 'ParamValidationError' in message or 'Unknown parameter in' in message:
        return 'client'
    return None


def markers_of(source):
    """test name -> pytest markers, read from the decorators in test_s3.py."""
    marks, pending = {}, []
    with open(source) as f:
        for line in f:
            m = re.match(r'@pytest\.mark\.(\w+)', line)
            if m:
                pending.append(m.group(1))
                continue
            m = re.match(r'def (test_\w+)', line)
            if m:
                marks[m.group(1)] = pending
                pending = []
            elif line.strip() and not line.startswith('@') and not line.startswith(' ') and not line.startswith(')'):
                pending = []
    return marks


def parse(path, marks=None):
    root = ET.parse(path).getroot()
    results = []
    for tc in root.iter('testcase'):
        name = tc.get('name')
        outcome, message, full = 'passed', '', ''
        for child in tc:
            if child.tag in ('failure', 'error'):
                outcome = 'failed' if child.tag == 'failure' else 'error'
                full = (child.get('message') or '') + '\n' + (child.text or '')
                message = one_line(full)
                body = one_line(child.text or '')  # prefer the E-line when the attribute is terse
                if body and (not message or len(message) < 20):
                    message = body
                break
            if child.tag == 'skipped':
                outcome = 'skipped'
                message = one_line(child.get('message') or child.text or '')
        na = None
        if outcome in ('failed', 'error'):
            na = not_applicable(full, name)
            if na is None and 'awscrt/auth.py' in full and 'expiration_in_seconds' in full:
                na = 'client'
        base = name.split('[')[0]
        results.append({'name': name, 'group': group_of(name), 'outcome': outcome, 'na': na,
                        'markers': (marks or {}).get(base, []),
                        'message': message, 'time': float(tc.get('time') or 0)})
    return results


def main():
    args = sys.argv[1:]
    if not args or args[0].startswith('-'):
        print(__doc__)
        return 2
    marks = markers_of(args[args.index('--source') + 1]) if '--source' in args else None
    results = parse(args[0], marks)
    if '--json' in args:
        with open(args[args.index('--json') + 1], 'w') as f:
            json.dump(results, f, indent=1)

    cols = ('passed', 'failed', 'error', 'skipped', 'na-client')
    table = {}
    for r in results:
        row = table.setdefault(r['group'], dict.fromkeys(cols, 0))
        row[f"na-{r['na']}" if r['na'] else r['outcome']] += 1
    total = {k: sum(row[k] for row in table.values()) for k in cols}

    print('failed/errors count only what Strata answered wrongly; n/a = not sendable by this client.')
    print('See summarize.py --help.')
    print(f"{'group':<20} {'passed':>6} {'failed':>6} {'errors':>6} {'skipped':>7} {'n/a-client':>10} {'pass %':>7}")
    def pct(row):
        sendable = row['passed'] + row['failed'] + row['error']
        return f"{100 * row['passed'] / sendable:.1f}" if sendable else '-'
    for g in ORDER:
        if g in table:
            row = table[g]
            print(f"{g:<20} " + ' '.join(f"{row[c]:>{w}}" for c, w in zip(cols, (6, 6, 6, 7, 10))) + f" {pct(row):>7}")
    print(f"{'TOTAL':<20} " + ' '.join(f"{total[c]:>{w}}" for c, w in zip(cols, (6, 6, 6, 7, 10))) + f" {pct(total):>7}")

    if '--failures' in args:
        for g in ORDER:
            bad = [r for r in results if r['group'] == g and r['outcome'] in ('failed', 'error')]
            if not bad:
                continue
            real = [r for r in bad if not r['na']]
            print(f"\n== {g}: {len(real)} failing" + (f", {len(bad) - len(real)} n/a" if len(bad) > len(real) else ''))
            for r in real + [r for r in bad if r['na']]:
                tag = ' [fails_on_aws]' if 'fails_on_aws' in r['markers'] else ''
                kind = f"n/a-{r['na']}" if r['na'] else r['outcome'].upper()
                print(f"  {kind:<14} {r['name']}{tag}: {r['message']}")
    return 0


if __name__ == '__main__':
    sys.exit(main())
