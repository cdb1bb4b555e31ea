import path from 'node:path';
import { toolsDir } from '../../config/home';
import { ensureDebianSet, multiarchLibDir, type DebianPin, type DebianSet } from '../../tools/debian';
import { isExecutable } from '../../tools/install';

// Real database engines for the test harness (servers.ts): Debian's own packages at pinned versions, unpacked into
// the tools directory by tools/debian.ts. Nothing is installed system-wide, so the machine's own PostgreSQL or
// MariaDB (if any) is never used or touched.

type Log = (line: string) => void;

/**
 * Debian replaces a point release in the archive when a security update lands, so an exact pin can vanish: then the
 * candidate of the same package is used (same series: the package name or the prefix fixes it), and a line says so.
 */
export const ENGINE_PINS = {
  series: { postgres: '15', mariadb: '10.11' },
  packages: [
    { name: 'postgresql-15', version: '15.20-0+deb12u1', series: '15.' },
    { name: 'postgresql-client-15', version: '15.20-0+deb12u1', series: '15.' },
    // initdb, psql and pg_basebackup link libpq; shipped here so a machine without libpq5 works too.
    { name: 'libpq5', version: '15.20-0+deb12u1', series: '15.' },
    { name: 'mariadb-server-core', version: '1:10.11.19-0+deb12u1', series: '1:10.11.' },
    { name: 'mariadb-client-core', version: '1:10.11.19-0+deb12u1', series: '1:10.11.' },
    // mariadbd links both (InnoDB's asynchronous I/O); neither is in a minimal image.
    { name: 'liburing2', version: '2.3-3', series: '2.' },
    { name: 'libaio1', version: '0.3.113-4', series: '0.3.' },
  ] satisfies readonly DebianPin[],
} as const;

export interface EngineBins {
  postgres: {
    /** The directory holding initdb, postgres, pg_ctl, pg_basebackup, psql. */
    bin: string;
    /** For LD_LIBRARY_PATH (the libpq5 shipped with them). */
    libDir: string;
    /** The Debian package version of postgresql-15. */
    version: string;
  };
  mariadb: {
    mariadbd: string;
    installDb: string;
    client: string;
    /** For LD_LIBRARY_PATH (liburing, libaio). */
    libDir: string;
    /** Error messages and the bootstrap SQL (`--lc-messages-dir`). */
    shareDir: string;
    /** The Debian package version of mariadb-server-core. */
    version: string;
  };
  /** The unpacked tree every path above lies in. */
  root: string;
}

export function enginesDir(): string {
  return path.join(toolsDir(), 'engines');
}

const ENGINE_SET: DebianSet<EngineBins> = {
  label: 'the database engines',
  get dir() {
    return enginesDir();
  },
  lockName: '.engines.lock',
  packages: ENGINE_PINS.packages,
  contents: binsIn,
};

/**
 * The engines' binaries, unpacked on first use (a few seconds: about 30 MB of packages) under the tools directory.
 * Throws an Error with a one-line message when they cannot be installed.
 */
export async function ensureEngines(opts: { log?: Log } = {}): Promise<EngineBins> {
  return ensureDebianSet(ENGINE_SET, opts);
}

function binsIn(root: string, versions: Record<string, string>): EngineBins {
  const libDir = multiarchLibDir(root, 'liburing.so.2');
  const pgBin = path.join(root, 'usr', 'lib', 'postgresql', ENGINE_PINS.series.postgres, 'bin');
  const bins: EngineBins = {
    root,
    postgres: { bin: pgBin, libDir, version: versions['postgresql-15'] },
    mariadb: {
      mariadbd: path.join(root, 'usr', 'sbin', 'mariadbd'),
      installDb: path.join(root, 'usr', 'bin', 'mariadb-install-db'),
      client: path.join(root, 'usr', 'bin', 'mariadb'),
      libDir,
      shareDir: path.join(root, 'usr', 'share', 'mysql'),
      version: versions['mariadb-server-core'],
    },
  };
  const required = [...['initdb', 'postgres', 'pg_ctl', 'pg_basebackup', 'psql'].map((b) => path.join(pgBin, b)), bins.mariadb.mariadbd, bins.mariadb.installDb, bins.mariadb.client];
  const absent = required.filter((f) => !isExecutable(f));
  if (absent.length > 0) throw new Error(`the engine packages unpacked into ${root} lack ${absent.map((f) => path.relative(root, f)).join(', ')}`);
  return bins;
}

