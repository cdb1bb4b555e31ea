import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { toolsDir } from '../../config/home';
import { freePorts } from '../../infra/engines/servers';
import { launch } from '../../processes/supervisor';
import { ensureDebianSet, multiarchLibDir, type DebianSet } from '../../tools/debian';
import { isExecutable } from '../../tools/install';

/**
 * A real TLS terminator in front of a plain-text server: HAProxy from Debian's packages (unpacked by tools/debian.ts,
 * pinned), in TCP mode, offering ALPN h2 (Temporal's Rust core, tonic, refuses a TLS connection that does not
 * negotiate HTTP/2), and requiring a client certificate signed by the given CA when `clientCa` is set: what a
 * self-hosted Temporal with mTLS, or a mesh sidecar, looks like to drover.
 */
const HAPROXY_SET: DebianSet<{ bin: string; libDir: string; version: string }> = {
  label: 'the TLS terminator (HAProxy)',
  get dir() {
    return path.join(toolsDir(), 'haproxy');
  },
  lockName: '.haproxy.lock',
  packages: [
    { name: 'haproxy', version: '2.6.12-1+deb12u4', series: '2.6.' },
    // haproxy links Lua and the OpenTracing wrapper; neither is in a minimal image.
    { name: 'liblua5.3-0', version: '5.3.6-2', series: '5.3.' },
    { name: 'libopentracing-c-wrapper0', version: '1.1.3-3+b1', series: '1.1.' },
    { name: 'libopentracing1', version: '1.6.0-4', series: '1.6.' },
  ],
  contents(root, versions) {
    const bin = path.join(root, 'usr', 'sbin', 'haproxy');
    if (!isExecutable(bin)) throw new Error(`the haproxy package unpacked into ${root} has no usr/sbin/haproxy`);
    return { bin, libDir: multiarchLibDir(root, 'liblua5.3.so.0'), version: versions.haproxy };
  },
};

export interface TlsTerminator {
  /** host:port of the TLS side. */
  address: string;
  stop(): Promise<void>;
}

export async function startTlsTerminator(opts: {
  /** host:port of the plain-text server behind it. */
  backend: string;
  /** The server certificate and key files (PEM). */
  cert: string;
  key: string;
  /** The CA whose client certificates are required; without it no client certificate is asked for. */
  clientCa?: string;
  dir: string;
}): Promise<TlsTerminator> {
  const haproxy = await ensureDebianSet(HAPROXY_SET);
  const [port] = await freePorts(1);
  fs.mkdirSync(opts.dir, { recursive: true });
  const bundle = path.join(opts.dir, 'server-bundle.pem');
  fs.writeFileSync(bundle, `${fs.readFileSync(opts.cert, 'utf8')}\n${fs.readFileSync(opts.key, 'utf8')}`, { mode: 0o600 });
  const verify = opts.clientCa ? ` ca-file ${opts.clientCa} verify required` : '';
  const config = path.join(opts.dir, 'haproxy.cfg');
  fs.writeFileSync(
    config,
    [
      'global',
      '  log stderr local0 warning',
      'defaults',
      '  mode tcp',
      '  log global',
      '  timeout connect 5s',
      '  timeout client 1h',
      '  timeout server 1h',
      'frontend tls_in',
      `  bind 127.0.0.1:${port} ssl crt ${bundle}${verify} alpn h2`,
      '  default_backend plain',
      'backend plain',
      `  server only ${opts.backend}`,
      '',
    ].join('\n'),
  );
  const server = launch(haproxy.bin, ['-f', config, '-db'], {
    logFile: path.join(opts.dir, 'haproxy.log'),
    detached: false,
    name: `haproxy ${haproxy.version}`,
    env: { ...process.env, LD_LIBRARY_PATH: haproxy.libDir },
  });
  await server.ready(15_000, async (deadline) => {
    for (;;) {
      if (await listening(port)) return;
      if (Date.now() > deadline) throw new Error(`haproxy did not listen on 127.0.0.1:${port}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  return { address: `127.0.0.1:${port}`, stop: () => server.stop() };
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}
