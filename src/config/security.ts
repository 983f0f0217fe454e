/**
 * The security parts of the config (issue 15): TLS to MySQL/MariaDB and to Kafka, SASL, and secrets
 * read from files (`passwordFile:`, Kubernetes Secrets mount files) besides `${ENV}`.
 *
 * Kafka's files (shared by every daemon) are checked when the config loads, so `drc config check`
 * names a missing or unreadable one, and the SASL password is read then. An ezone's MySQL files
 * (passwordFile, tls.ca/cert/key) are read when a connection to that ezone is made (db/connect.ts,
 * db/tls.ts): a daemon needs only its own ezone's secrets mounted. A missing one then fails naming
 * the key and the file.
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { z } from 'zod';

/** The modes operators know from the mysql client and Debezium (`ssl-mode`). */
export const MYSQL_TLS_MODES = ['disabled', 'preferred', 'required', 'verify_ca', 'verify_identity'] as const;
export type MysqlTlsMode = (typeof MYSQL_TLS_MODES)[number];

/** Boolean that may also arrive as "true"/"false" from an environment variable. */
const bool = z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean());

/** A path read when an ezone's connection is made (db/tls.ts, db/connect.ts). */
const laterFile = z.string().min(1);

/** A file DRC must be able to read (a certificate, a key, a secret) when the config loads; the path as written. */
export const readableFile = z
  .string()
  .min(1)
  .superRefine((path, ctx) => {
    try {
      accessSync(path, constants.R_OK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'not readable by this user' : (code ?? 'unreadable');
      ctx.addIssue({ code: 'custom', message: `cannot read ${path}: ${why} — give the path of an existing file DRC's user can read` });
    }
  });

/** A secret's text from its file: the whole file without one trailing newline (as `echo` or `kubectl create secret` write it). */
export function readSecretFile(path: string): string {
  return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
}

export const mysqlTlsSchema = z
  .strictObject({
    // disabled = plaintext; preferred = TLS when the server offers it, unverified; required = TLS, unverified;
    // verify_ca = TLS, the server's certificate must chain to `ca`; verify_identity = verify_ca and its name/IP must match host
    mode: z.enum(MYSQL_TLS_MODES).default('disabled'),
    ca: laterFile.optional(), // PEM file of the CA(s) the server's certificate must chain to (verify_ca; verify_identity: default the system CAs)
    cert: laterFile.optional(), // PEM client certificate, for servers that require one (REQUIRE X509 / SUBJECT): mTLS, with key
    key: laterFile.optional(), // PEM private key of cert
  })
  .superRefine((tls, ctx) => {
    if (tls.mode === 'verify_ca' && !tls.ca) {
      ctx.addIssue({ code: 'custom', path: ['ca'], message: 'mode verify_ca needs the CA file — add ca: /path/to/ca.pem (or use verify_identity to trust the system CAs)' });
    }
    if (Boolean(tls.cert) !== Boolean(tls.key)) {
      ctx.addIssue({ code: 'custom', path: [tls.cert ? 'key' : 'cert'], message: 'a client certificate needs its key and the key its certificate — give both cert and key' });
    }
    if (tls.mode === 'disabled' && (tls.ca || tls.cert || tls.key)) {
      ctx.addIssue({ code: 'custom', path: ['mode'], message: 'mode is disabled (plaintext) but certificate files are given — set mode: verify_identity, verify_ca or required' });
    }
  });

export type MysqlTlsConfig = z.output<typeof mysqlTlsSchema>;

/**
 * Kafka TLS: `true` (system CAs) or an object. `ssl: true` keeps working as before.
 * The same shape maps onto every Kafka client adapter (transport/kafka/security.ts for kafkajs,
 * transport/platformatic/options.ts), each through kafkaTlsFiles.
 */
export const kafkaSslSchema = z.union([
  bool,
  z.strictObject({
    ca: readableFile.optional(), // PEM file of the CA(s) the brokers' certificates must chain to; default the system CAs
    cert: readableFile.optional(), // PEM client certificate for brokers with ssl.client.auth=required (mTLS), with key
    key: readableFile.optional(), // PEM private key of cert
    rejectUnauthorized: bool.default(true), // false = do not verify the brokers' certificates (never in production)
    servername: z.string().min(1).optional(), // TLS server name (SNI and the name checked) when it differs from the broker address
  }).superRefine((ssl, ctx) => {
    if (Boolean(ssl.cert) !== Boolean(ssl.key)) {
      ctx.addIssue({ code: 'custom', path: [ssl.cert ? 'key' : 'cert'], message: 'a client certificate needs its key and the key its certificate — give both cert and key' });
    }
  }),
]);

export type KafkaSslConfig = z.output<typeof kafkaSslSchema>;

/**
 * The TLS options of the object form of `kafka.ssl` (files read now, when a client is created), for
 * every Kafka client adapter; `true` and `false` are the adapters' own (system CAs; plaintext).
 */
export function kafkaTlsFiles(ssl: Exclude<KafkaSslConfig, boolean>): TlsConnectionOptions {
  const tls: TlsConnectionOptions = { rejectUnauthorized: ssl.rejectUnauthorized };
  if (ssl.ca) tls.ca = readFileSync(ssl.ca, 'utf8');
  if (ssl.cert) tls.cert = readFileSync(ssl.cert, 'utf8');
  if (ssl.key) tls.key = readFileSync(ssl.key, 'utf8');
  if (ssl.servername) tls.servername = ssl.servername;
  return tls;
}

/** Fill `password` from `passwordFile` (then dropped); both at once is an error naming the keys. */
function passwordFromFile<T extends { password?: string | undefined; passwordFile?: string | undefined }>(v: T, ctx: z.RefinementCtx, required: boolean) {
  const { passwordFile, ...rest } = v;
  if (passwordFile !== undefined && v.password) {
    ctx.addIssue({ code: 'custom', path: ['passwordFile'], message: 'give the password once: password or passwordFile, not both' });
    return z.NEVER;
  }
  if (passwordFile !== undefined) {
    try {
      return { ...rest, password: readSecretFile(passwordFile) };
    } catch (err) {
      ctx.addIssue({ code: 'custom', path: ['passwordFile'], message: `cannot read ${passwordFile}: ${(err as Error).message}` });
      return z.NEVER;
    }
  }
  if (required && v.password === undefined) {
    ctx.addIssue({ code: 'custom', path: ['password'], message: 'required key is missing — add password: ${ENV_VAR} or passwordFile: /path/to/secret' });
    return z.NEVER;
  }
  return { ...rest, password: v.password ?? '' };
}

/** The password keys of a MySQL account: `password` (or `${ENV}`) or `passwordFile`. */
export const mysqlPasswordShape = {
  password: z.string().default(''), // use ${ENV_VAR} or passwordFile to keep it out of this file
  passwordFile: laterFile.optional(), // file holding the password (a mounted Kubernetes Secret, a systemd credential), read when DRC connects; one trailing newline is ignored
};

/** A MySQL block's password given once (the schema's refinement). */
export const onePassword = (v: { password: string; passwordFile?: string | undefined }, ctx: z.RefinementCtx) => {
  if (v.passwordFile !== undefined && v.password) ctx.addIssue({ code: 'custom', path: ['passwordFile'], message: 'give the password once: password or passwordFile, not both' });
};

export const kafkaSaslSchema = z
  .strictObject({
    // SASL mechanism; oauthbearer reads a token from tokenFile each time the client authenticates
    mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512', 'oauthbearer']),
    username: z.string().min(1).optional(), // SASL user (plain, scram-*)
    password: z.string().optional(), // use ${ENV_VAR} or passwordFile
    passwordFile: readableFile.optional(), // file holding the SASL password; one trailing newline is ignored
    tokenFile: readableFile.optional(), // oauthbearer: file holding the current token, re-read on every authentication (rotated by your token agent)
  })
  .transform((sasl, ctx) => {
    if (sasl.mechanism === 'oauthbearer') {
      if (!sasl.tokenFile) ctx.addIssue({ code: 'custom', path: ['tokenFile'], message: 'mechanism oauthbearer needs tokenFile: /path/to/token' });
      const { passwordFile: _f, password: _p, ...rest } = sasl;
      return { ...rest, password: '' };
    }
    if (!sasl.username) ctx.addIssue({ code: 'custom', path: ['username'], message: `required key is missing — mechanism ${sasl.mechanism} needs username` });
    return passwordFromFile(sasl, ctx, true);
  });

/** What a link to Kafka is protected by, for `drc doctor` (no secret). */
export function kafkaLinkSecurity(config: { ssl: KafkaSslConfig; sasl?: { mechanism: string } | undefined }): { encrypted: boolean; verified: boolean; clientCert: boolean; sasl: string | null } {
  const ssl = config.ssl;
  const object = ssl && typeof ssl === 'object' ? ssl : undefined;
  return {
    encrypted: ssl !== false,
    verified: ssl === true || (object?.rejectUnauthorized ?? false),
    clientCert: Boolean(object?.cert),
    sasl: config.sasl?.mechanism ?? null,
  };
}
