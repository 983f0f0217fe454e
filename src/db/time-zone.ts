/** Whether a server's sessions write DATETIME values in UTC (DATETIME versions compared with a UTC horizon). */
import type mysql from 'mysql2/promise';

const UTC_NAMES = new Set(['+00:00', '-00:00', '+0:00', 'utc', 'gmt', 'etc/utc', 'etc/gmt', 'universal', 'zulu', 'coordinated universal time']);

/**
 * Whether a server whose @@global.time_zone is `global` (and @@system_time_zone `system`) has its
 * applications' sessions write DATETIME values in UTC (as the horizon is): a DATETIME version holds the
 * writer's wall clock, and at UTC−8 every write of the last 8 hours would look older than the horizon.
 * Pure.
 */
export function zoneIsUtc(global: string, system: string): boolean {
  const g = global.trim().toLowerCase();
  return UTC_NAMES.has(g) || (g === 'system' && UTC_NAMES.has(system.trim().toLowerCase()));
}

/** zoneIsUtc for this server's global time zone. */
export async function writesUtc(pool: mysql.Pool): Promise<boolean> {
  const [[r]] = await pool.query<mysql.RowDataPacket[]>('SELECT @@global.time_zone AS g, @@system_time_zone AS s');
  return zoneIsUtc(String(r!.g), String(r!.s));
}
