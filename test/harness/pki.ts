import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { findOnPath } from '../../tools/install';

/** A CA the tests make: its certificate and key files. */
export interface TestCa {
  label: string;
  cert: string;
  key: string;
}

/** A certificate a test CA signed: its files, and their PEM text. */
export interface Issued {
  cert: string;
  key: string;
  certPem: string;
  keyPem: string;
}

/**
 * Throwaway CAs and certificates for TLS tests, made with the machine's `openssl` (P-256 keys: fast), valid two days,
 * in `dir`. `names` are subjectAltName entries (`DNS:temporal.test,IP:127.0.0.1`).
 */
export class TestPki {
  private readonly openssl: string;

  constructor(readonly dir: string) {
    const bin = findOnPath('openssl');
    if (!bin) throw new Error('the TLS tests make their certificates with openssl, and none is on PATH');
    this.openssl = bin;
    fs.mkdirSync(dir, { recursive: true });
  }

  ca(label: string): TestCa {
    const f = this.file(label);
    this.ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', `/CN=${label} test CA`, '-keyout', f('ca.key'), '-out', f('ca.crt'));
    return { label, cert: f('ca.crt'), key: f('ca.key') };
  }

  issue(ca: TestCa, label: string, opts: { cn: string; usage: 'server' | 'client'; names?: string }): Issued {
    const f = this.file(label);
    this.ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${opts.cn}`, '-keyout', f('key.pem'), '-out', f('csr.pem'));
    const ext = [`extendedKeyUsage=${opts.usage === 'server' ? 'serverAuth' : 'clientAuth'}`, ...(opts.names ? [`subjectAltName=${opts.names}`] : [])];
    fs.writeFileSync(f('ext.cnf'), `${ext.join('\n')}\n`);
    this.ssl('x509', '-req', '-in', f('csr.pem'), '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-days', '2', '-extfile', f('ext.cnf'), '-out', f('cert.pem'));
    return { cert: f('cert.pem'), key: f('key.pem'), certPem: fs.readFileSync(f('cert.pem'), 'utf8'), keyPem: fs.readFileSync(f('key.pem'), 'utf8') };
  }

  private file(label: string): (name: string) => string {
    return (name) => path.join(this.dir, `${label}-${name}`);
  }

  private ssl(...args: string[]): void {
    execFileSync(this.openssl, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  }
}
