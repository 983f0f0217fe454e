/**
 * The TLS sandbox's private PKI (`drc sandbox up --tls`), made with openssl: one CA, one server
 * certificate for every sandbox server (127.0.0.1 and localhost, usable as a client certificate by
 * the broker's own inter-broker connection), one client certificate for DRC (mTLS), and the broker's
 * PKCS#12 keystore. Made once per sandbox folder; keys are mode 0600.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SandboxError } from '../errors.js';

const execFileAsync = promisify(execFile);

/** The files of the sandbox PKI (absolute paths). */
export interface SandboxPki {
  dir: string;
  /** The CA certificate every client trusts (PEM). */
  ca: string;
  /** Server certificate and key of the MariaDB servers and the broker (PEM). */
  serverCert: string;
  serverKey: string;
  /** DRC's client certificate and key (PEM). */
  clientCert: string;
  clientKey: string;
  /** The broker's keystore (server certificate + key, PKCS#12) and its password. */
  keystore: string;
  keystorePassword: string;
}

async function openssl(args: string[]): Promise<void> {
  try {
    await execFileAsync('openssl', args, { maxBuffer: 4 << 20 });
  } catch (err) {
    throw new SandboxError(`openssl ${args[0]} failed: ${(err as { stderr?: string }).stderr?.trim() || (err as Error).message} — is openssl installed (apt-get install -y openssl)?`, { cause: err });
  }
}

/** A self-signed CA (key + certificate) named `name` in `dir`; returns the certificate and key paths. */
export async function makeCa(dir: string, name: string, cn = `DRC sandbox ${name}`): Promise<{ cert: string; key: string }> {
  mkdirSync(dir, { recursive: true });
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}-key.pem`);
  await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '3650', '-subj', `/CN=${cn}`, '-keyout', key, '-out', cert, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  chmodSync(key, 0o600);
  return { cert, key };
}

/** A certificate for `cn` signed by the CA, with the given extensions. */
async function issue(dir: string, name: string, cn: string, ca: { cert: string; key: string }, extensions: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}-key.pem`);
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, extensions);
  await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-subj', `/CN=${cn}`, '-keyout', key, '-out', csr]);
  await openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-days', '3650', '-sha256', '-extfile', ext, '-out', cert]);
  chmodSync(key, 0o600);
  return { cert, key };
}

/** Where the sandbox PKI's files are (made by ensurePki). */
export function pkiOf(dir: string, keystorePassword: string): SandboxPki {
  return {
    dir,
    ca: join(dir, 'ca.pem'),
    serverCert: join(dir, 'server.pem'),
    serverKey: join(dir, 'server-key.pem'),
    clientCert: join(dir, 'client.pem'),
    clientKey: join(dir, 'client-key.pem'),
    keystore: join(dir, 'server.p12'),
    keystorePassword,
  };
}

/** The sandbox PKI in `<dir>`, made on first use. */
export async function ensurePki(dir: string, keystorePassword: string): Promise<SandboxPki> {
  const pki = pkiOf(dir, keystorePassword);
  if ([pki.ca, pki.serverCert, pki.clientCert, pki.keystore].every((f) => existsSync(f))) return pki;
  const ca = await makeCa(dir, 'ca');
  await issue(dir, 'server', 'localhost', ca, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n');
  await issue(dir, 'client', 'drc', ca, 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n');
  await openssl(['pkcs12', '-export', '-in', pki.serverCert, '-inkey', pki.serverKey, '-certfile', pki.ca, '-name', 'server', '-out', pki.keystore, '-passout', `pass:${keystorePassword}`]);
  chmodSync(pki.keystore, 0o600);
  return pki;
}

export const newSecret = () => randomBytes(12).toString('hex');
