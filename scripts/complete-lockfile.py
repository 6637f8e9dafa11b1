# npm 11 on Linux leaves the platform-specific optional packages of rollup (pulled in by vitest)
# out of package-lock.json, and `npm ci` then refuses the lock file (npm/cli#4828). This adds the
# missing entries (name, version, os/cpu/libc, optional) so `npm ci` works on a clean clone.
# Run after changing dependencies: python3 scripts/complete-lockfile.py package-lock.json
import json, re, sys
path = sys.argv[1]
lock = json.load(open(path))
pk = lock['packages']
rollup = pk['node_modules/rollup']
version = rollup['version']
added = 0
for name, v in rollup.get('optionalDependencies', {}).items():
    key = 'node_modules/' + name
    if key in pk:
        continue
    suffix = name.split('/rollup-', 1)[1]          # e.g. linux-arm64-musl, win32-x64-msvc, android-arm-eabi
    parts = suffix.split('-')
    os_ = parts[0]
    cpu = parts[1]
    entry = {'version': v, 'cpu': [cpu], 'dev': True, 'license': 'MIT', 'optional': True, 'os': [os_]}
    if os_ == 'linux':
        libc = 'musl' if suffix.endswith('musl') or 'musleabihf' in suffix else 'glibc'
        entry['libc'] = [libc]
    pk[key] = dict(sorted(entry.items()))
    added += 1
lock['packages'] = dict(sorted(pk.items(), key=lambda kv: (kv[0] != '', kv[0])))
json.dump(lock, open(path, 'w'), indent=2)
open(path, 'a').write('\n')
print('added', added, 'entries for rollup', version)
