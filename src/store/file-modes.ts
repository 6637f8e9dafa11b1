// Owner-only permissions for everything Strata keeps on disk.
//
// The data root holds the metadata databases (with small objects stored inline and bucket
// policies), blob files, the accelerated cache (which holds the plaintext of unencrypted
// objects) and master.key. None of it is for other local accounts, so directories are created
// 0700 and files 0600. The mode is passed at creation rather than left to the umask: a umask only
// ever removes bits, so under any umask nothing is created readable by group or others.
//
// SQLite creates a database's -wal, -shm and -journal files with the mode of the database file
// itself (its unix VFS copies it, whatever the umask), so a database file created 0600 keeps its
// side files 0600 too, also when they are recreated at run time.
//
// Data roots written by earlier versions (0755 / 0644) are repaired at start-up by
// repairDataDirModes.
import { chmodSync, closeSync, constants, lstatSync, openSync, opendirSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';

export const OWNER_DIR_MODE = 0o700;
export const OWNER_FILE_MODE = 0o600;

/** SQLite's side files of a database, which it creates with the database file's mode. */
const sqliteSideFiles = ['-wal', '-shm', '-journal'];

/**
 * Create (if missing) the SQLite database file `path` with mode 0600 before SQLite opens it,
 * and set 0600 on it and on any side files it already has.
 */
export function prepareDatabaseFile(path: string): void {
  // O_NOFOLLOW: a symlink planted in place of the database is refused, not chmodded through.
  closeSync(openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, OWNER_FILE_MODE));
  for (const file of [path, ...sqliteSideFiles.map((suffix) => path + suffix)]) {
    try {
      const st = lstatSync(file);
      if (st.isFile() && (st.mode & 0o777) !== OWNER_FILE_MODE) chmodSync(file, OWNER_FILE_MODE);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}

export interface ModeRepair {
  /** directories and regular files looked at */
  checked: number;
  /** of those, how many had another mode and were set to 0700 / 0600 */
  changed: number;
  /** paths whose mode could not be set (e.g. owned by another account), with the error code */
  failed: Array<{ path: string; code: string }>;
}

/** At most this many failures are listed (all are counted in `checked`); the rest are dropped. */
const MAX_LISTED_FAILURES = 20;

/**
 * Set every directory under `root` (and `root` itself) to 0700 and every regular file to 0600.
 * Symbolic links are neither followed nor changed (below `root`; `root` itself may be a link to
 * the real directory, as an operator configured it); sockets, FIFOs and devices are left alone.
 * The walk is iterative with an explicit stack of directory paths and reads each directory as a
 * stream, so neither a deep tree nor a directory of millions of blobs grows the call stack or
 * buffers a whole listing. A missing `root` is nothing to repair.
 *
 * The lstat and the chmod are two steps; an account that could swap an entry for a symlink in
 * between would need write access to our directories, which only the owner has (also 0755).
 */
export function repairDataDirModes(root: string): ModeRepair {
  const result: ModeRepair = { checked: 0, changed: 0, failed: [] };
  let rootStat;
  try {
    rootStat = statSync(root);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return result;
    throw err;
  }
  if (!rootStat.isDirectory()) throw new Error(`data directory ${root} is not a directory`);
  const fix = (path: string, mode: number, want: number) => {
    result.checked++;
    if ((mode & 0o777) === want) return;
    try {
      chmodSync(path, want);
      result.changed++;
    } catch (err) {
      if (result.failed.length < MAX_LISTED_FAILURES) result.failed.push({ path, code: (err as NodeJS.ErrnoException).code ?? String(err) });
    }
  };
  // The root first: once it is 0700, nothing below it is reachable by other accounts even
  // before the walk has reached it.
  fix(root, rootStat.mode, OWNER_DIR_MODE);
  const stack = [root];
  while (stack.length > 0) {
    const dirPath = stack.pop()!;
    let dir;
    try {
      dir = opendirSync(dirPath);
    } catch (err) {
      // Gone meanwhile, or unreadable (not ours): listed, and the walk goes on.
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      if (code !== 'ENOENT' && result.failed.length < MAX_LISTED_FAILURES) result.failed.push({ path: dirPath, code });
      continue;
    }
    try {
      for (let entry = dir.readSync(); entry !== null; entry = dir.readSync()) {
        // Types come from lstat, not the entry: some file systems report none in directory listings.
        const path = join(dirPath, entry.name);
        let st;
        try {
          st = lstatSync(path);
        } catch {
          continue; // removed meanwhile (a temporary file, a cache entry)
        }
        if (st.isDirectory()) {
          fix(path, st.mode, OWNER_DIR_MODE);
          stack.push(path);
        } else if (st.isFile()) {
          fix(path, st.mode, OWNER_FILE_MODE);
        } // links, sockets, FIFOs and devices: left alone
      }
    } finally {
      dir.closeSync();
    }
  }
  return result;
}

/**
 * Start-up: repair the data root and, when it lies elsewhere, the accelerated cache's root, and
 * say on stderr what was changed or could not be (a one-time event after an upgrade).
 */
export function repairDataRoots(dataDir: string, otherRoots: string[], write = (line: string) => process.stderr.write(line)): void {
  const inside = (path: string) => path === dataDir || path.startsWith(dataDir.endsWith(sep) ? dataDir : dataDir + sep);
  for (const root of [dataDir, ...otherRoots.filter((r) => !inside(r))]) {
    const { checked, changed, failed } = repairDataDirModes(root);
    if (changed > 0) write(`strata: set owner-only modes (0700 directories, 0600 files) on ${changed} of ${checked} paths under ${root}\n`);
    for (const f of failed) write(`strata: warning: could not make ${f.path} owner-only (${f.code})\n`);
  }
}
