import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Logger } from '../ops/logger.js';
import { PrerequisiteError } from '../errors.js';

/** A program the sandbox needs and the Debian package that provides it. */
export interface Prerequisite {
  command: string;
  debianPackage: string;
}

export const MARIADB_SERVER: Prerequisite[] = [
  { command: 'mariadbd', debianPackage: 'mariadb-server' },
  { command: 'mariadb-install-db', debianPackage: 'mariadb-server' },
];
export const KAFKA_TOOLS: Prerequisite[] = [
  { command: 'java', debianPackage: 'openjdk-17-jre-headless' },
  { command: 'mvn', debianPackage: 'maven' },
];

const EXTRA_DIRS = ['/usr/sbin', '/usr/local/sbin', '/sbin'];

/** Absolute path of a program on PATH (plus the sbin folders, where Debian puts mariadbd), if any. */
export function findCommand(command: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), ...EXTRA_DIRS].filter(Boolean);
  for (const dir of dirs) {
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Make sure every program is installed: install the missing ones with apt-get where we are root on a
 * Debian-like system, otherwise fail with one message saying what to install.
 * Returns the absolute path of each command.
 */
export function ensurePrerequisites(needed: Prerequisite[], log: Logger): Record<string, string> {
  const missing = needed.filter((p) => !findCommand(p.command));
  if (missing.length > 0) {
    const packages = [...new Set(missing.map((p) => p.debianPackage))];
    const commands = missing.map((p) => p.command).join(', ');
    const canApt = process.getuid?.() === 0 && findCommand('apt-get') !== undefined;
    if (!canApt) {
      throw new PrerequisiteError(
        `missing ${commands}: install them first (Debian/Ubuntu: sudo apt-get install -y ${packages.join(' ')})`,
      );
    }
    log.info({ packages }, 'installing missing prerequisites with apt-get');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const update = spawnSync('apt-get', ['update'], { env, stdio: 'ignore' });
    const install = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...packages], { env, encoding: 'utf8' });
    if (update.status !== 0 || install.status !== 0) {
      throw new PrerequisiteError(
        `apt-get install ${packages.join(' ')} failed (exit ${install.status}): ${(install.stderr ?? '').trim().split('\n').slice(-2).join(' ')}`,
      );
    }
  }
  const paths: Record<string, string> = {};
  for (const p of needed) {
    const path = findCommand(p.command);
    if (!path) throw new PrerequisiteError(`${p.command} is still missing after installing ${p.debianPackage}`);
    paths[p.command] = path;
  }
  return paths;
}

/** First line of `command --version`, for diagnostics. */
export function versionOf(commandPath: string): string {
  try {
    return execFileSync(commandPath, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0] ?? '';
  } catch {
    return 'unknown';
  }
}
