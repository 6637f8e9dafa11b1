#!/usr/bin/env bash
# Run the ceph/s3-tests conformance suite against a fresh Strata server on 127.0.0.1.
#
#   scripts/s3-tests/run.sh [S3TESTS_DIR] [test_name ...] [-- extra pytest args]
#
# S3TESTS_DIR (or $S3TESTS_DIR) is an s3-tests checkout (it is never copied into this repo).
# With test names (test_...), only those tests run and no marker/name filter is applied:
#   scripts/s3-tests/run.sh /work/s3-tests-checkout test_object_copy_to_itself
#
# Environment:
#   STRATA_BIN        server/CLI to run (default: bin/strata of this checkout)
#   S3TESTS_TIMEOUT   wall-clock limit of the pytest run in seconds (default 1200)
#   S3TESTS_TEST_TIMEOUT  per-test limit in seconds when pytest-timeout is installed (default 120)
#   S3TESTS_OUT       where junit XML, the config and logs go (default: a new temp dir, kept)
#   S3TESTS_MARKEXPR / S3TESTS_KEXPR  replace the default -m / -k filters
#   S3TESTS_LC_DAY_SECONDS  the server's lifecycle "day" and s3-tests' lc_debug_interval (default 10,
#                     as s3-tests assumes); S3TESTS_LC_INTERVAL_SECONDS how often its worker runs (default 2).
#                     The lifecycle group is left out by default (it sleeps for minutes); run it with
#                     scripts/s3-tests/run.sh DIR -- -k lifecycle
#
# Needs Debian's python3-boto3 python3-pytest python3-munch python3-isodate python3-requests
# python3-lxml python3-dateutil python3-gevent python3-yaml python3-tz (python3-pytest-timeout optional).
set -euo pipefail

here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
strata="${STRATA_BIN:-$repo/bin/strata}"
python=/usr/bin/python3

s3dir="${S3TESTS_DIR:-}"
if [[ $# -gt 0 && "$1" != test_* && "$1" != -- ]]; then s3dir="$1"; shift; fi
[[ -n "$s3dir" ]] || { echo "usage: $0 S3TESTS_DIR [test_name ...] [-- pytest args] (or set S3TESTS_DIR)" >&2; exit 2; }
s3dir="$(cd "$s3dir" && pwd)"
tests=()
extra=()
while [[ $# -gt 0 ]]; do
  if [[ "$1" == -- ]]; then shift; extra=("$@"); break; fi
  tests+=("$1"); shift
done

testfile=""
for candidate in s3tests/functional/test_s3.py s3tests_boto3/functional/test_s3.py; do
  if [[ -f "$s3dir/$candidate" ]]; then testfile="$candidate"; break; fi
done
[[ -n "$testfile" ]] || { echo "no s3tests/functional/test_s3.py or s3tests_boto3/functional/test_s3.py in $s3dir" >&2; exit 2; }

out="${S3TESTS_OUT:-$(mktemp -d /tmp/strata-s3tests.XXXXXX)}"
mkdir -p "$out"
data="$(mktemp -d /tmp/strata-s3tests-data.XXXXXX)"
admin_ak=AKSTRATAS3TESTS00001
admin_sk=strata-s3tests-main-secret-key-0001

server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$data"
}
trap cleanup EXIT

export STRATA_DATA_DIR="$data" STRATA_HOST=127.0.0.1 STRATA_PORT=0 \
  STRATA_ADMIN_ACCESS_KEY="$admin_ak" STRATA_ADMIN_SECRET_KEY="$admin_sk" \
  STRATA_FSYNC="${STRATA_FSYNC:-false}" STRATA_LOG_LEVEL="${STRATA_LOG_LEVEL:-warn}" \
  STRATA_LIFECYCLE_DAY_SECONDS="${S3TESTS_LC_DAY_SECONDS:-10}" STRATA_LIFECYCLE_INTERVAL_SECONDS="${S3TESTS_LC_INTERVAL_SECONDS:-2}" \
  STRATA_ACCESS_LOG_DELAY_SECONDS="${STRATA_ACCESS_LOG_DELAY_SECONDS:-5}"
# (s3-tests' lifecycle tests assume a 10 s day; its bucket_logging tests expect log objects to roll after 5 s.)

"$strata" serve >"$out/server.log" 2>&1 &
server_pid=$!
port=""
for _ in $(seq 300); do
  port="$(sed -n 's#^Strata listening on http://127\.0\.0\.1:\([0-9]*\).*#\1#p' "$out/server.log" | head -1)"
  [[ -n "$port" ]] && break
  kill -0 "$server_pid" 2>/dev/null || { echo "strata serve exited:" >&2; cat "$out/server.log" >&2; exit 1; }
  sleep 0.1
done
[[ -n "$port" ]] || { echo "strata serve did not print its port in 30 s:" >&2; cat "$out/server.log" >&2; exit 1; }
echo "strata (pid $server_pid) on http://127.0.0.1:$port, data $data, results $out"

# The alt and tenant users of s3-tests are users of two other organisations. s3-tests' set-up
# and tear-down use all three clients, so all three must authenticate.
make_user() { # org secretName
  cat >"$out/user-$1.yaml" <<EOF
apiVersion: objectstorage.coreweave.com/v1alpha1
kind: User
metadata:
  name: s3tests
  namespace: $1
spec:
  owner: $1
  access: full
  secretName: $2
EOF
  "$strata" apply -f "$out/user-$1.yaml" >>"$out/cli.log" 2>&1 || { echo "strata apply failed:" >&2; cat "$out/cli.log" >&2; exit 1; }
}
secret_field() { # namespace secretName field
  "$strata" get secrets "$2" -n "$1" -o "jsonpath={.data.$3}" 2>>"$out/cli.log" | base64 -d
}
alt_org=s3tests-alt
tenant_org=s3tests-tenant
make_user "$alt_org" s3tests-alt-creds
make_user "$tenant_org" s3tests-tenant-creds
alt_ak="$(secret_field "$alt_org" s3tests-alt-creds accessKey)"
alt_sk="$(secret_field "$alt_org" s3tests-alt-creds secretKey)"
tenant_ak="$(secret_field "$tenant_org" s3tests-tenant-creds accessKey)"
tenant_sk="$(secret_field "$tenant_org" s3tests-tenant-creds secretKey)"
[[ -n "$alt_ak" && -n "$alt_sk" && -n "$tenant_ak" && -n "$tenant_sk" ]] || { echo "could not read the users' keys:" >&2; cat "$out/cli.log" >&2; exit 1; }

# Strata's canonical user id and display name are the organisation name.
conf="$out/s3tests.conf"
cat >"$conf" <<EOF
[DEFAULT]
host = 127.0.0.1
port = $port
is_secure = False
ssl_verify = False

[fixtures]
bucket prefix = s3t-{random}-

[s3 main]
display_name = default
user_id = default
email = main@strata.invalid
api_name = ${S3TESTS_API_NAME:-lga1}
lc_debug_interval = ${S3TESTS_LC_DAY_SECONDS:-10}
access_key = $admin_ak
secret_key = $admin_sk

[s3 alt]
display_name = $alt_org
user_id = $alt_org
email = alt@strata.invalid
access_key = $alt_ak
secret_key = $alt_sk

[s3 tenant]
display_name = $tenant_org
user_id = $tenant_org
email = tenant@strata.invalid
access_key = $tenant_ak
secret_key = $tenant_sk
tenant = $tenant_org

[iam]
email = iam@strata.invalid
user_id = none
access_key = none
secret_key = none
display_name = none

[iam root]
access_key = none
secret_key = none
user_id = none
email = none@strata.invalid

[iam alt root]
access_key = none
secret_key = none
user_id = none
email = none@strata.invalid
EOF

# Features Strata does not offer (or that are RGW-only), by marker and by name.
markexpr="${S3TESTS_MARKEXPR:-not fails_on_rgw and not lifecycle_transition \
and not cloud_transition and not cloud_restore and not sns and not s3select and not bucket_logging \
and not bucket_logging_cleanup and not fails_without_logging_rollover and not sse_s3 and not bucket_encryption \
and not object_lock and not s3website and not s3website_routing_rules \
and not s3website_redirect_location and not appendobject and not storage_class and not target_by_bucket \
and not object_ownership and not iam_user and not iam_account and not iam_tenant \
and not iam_role and not iam_cross_account and not user_policy and not role_policy and not group \
and not group_policy and not test_of_sts and not webidentity_test and not abac_test and not session_policy \
and not token_claims_trust_policy_test and not token_principal_tag_role_policy_test \
and not token_request_tag_trust_policy_test and not token_resource_tags_test and not token_role_tags_test \
and not token_tag_keys_test}"
kexpr="${S3TESTS_KEXPR:-not object_lock and not lifecycle \
and not logging and not kms and not sse_s3 and not tenant and not torrent and not restore and not read_through \
and not usage and not unordered}"

pyargs=(-p no:cacheprovider -q -rN --tb=short --junitxml="$out/junit.xml" -o junit_family=xunit1)
if "$python" -c 'import pytest_timeout' 2>/dev/null; then
  pyargs+=(--timeout="${S3TESTS_TEST_TIMEOUT:-120}")
fi
if [[ ${#tests[@]} -gt 0 ]]; then
  for t in "${tests[@]}"; do pyargs+=("$testfile::$t"); done
else
  pyargs+=(-m "$markexpr" -k "$kexpr" "$testfile")
fi

set +e
(
  cd "$s3dir"
  # s3-tests' clients name no region: pin what an unconfigured client sends, ignore ~/.aws.
  env S3TEST_CONF="$conf" AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null \
    AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true \
    timeout --signal=TERM --kill-after=30 "${S3TESTS_TIMEOUT:-1200}" \
    "$python" -m pytest "${pyargs[@]}" "${extra[@]}"
) >"$out/pytest.log" 2>&1
rc=$?
set -e
tail -n 3 "$out/pytest.log"
[[ $rc -eq 124 ]] && echo "pytest stopped by the ${S3TESTS_TIMEOUT:-1200} s time limit"

if [[ -f "$out/junit.xml" ]]; then
  echo
  "$python" "$here/summarize.py" "$out/junit.xml" --failures --json "$out/results.json" --source "$s3dir/$testfile"
else
  echo "no junit XML written; see $out/pytest.log" >&2
fi
echo
echo "results: $out (junit.xml, results.json, pytest.log, server.log, s3tests.conf)"
exit $rc
