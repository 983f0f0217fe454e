/**
 * Spatial types: GEOMETRY, POINT, LINESTRING, POLYGON and their collections.
 *
 * Known defect (issue 12): zongji parses the value into an object ({"x":1,"y":2}) that ships as JSON text the peer cannot insert; it must ship as SRID + WKB bytes.
 */
import { agnostic } from './any-value.js';
import { uniform } from './family.js';

export const geometryFamily = uniform('geometry', agnostic('geometry'));
