/**
 * FLOAT and DOUBLE. zongji decodes FLOAT as the exact float32 value (1.100000023841858) while a query
 * prints its shortest text (1.1): that is why FLOAT compares at float32 precision. DOUBLE has one
 * column type of its own so that its fix lands here alone.
 *
 * Known defect (issue 12): DOUBLE is compared and keyed at float32 precision, like FLOAT (updates lost, keys collide).
 */
import type { ColumnMeta } from './column-meta.js';
import { TypeCode } from './column-meta.js';
import { agnostic } from './any-value.js';
import type { TypeFamily } from './family.js';

const FLOAT = agnostic('float');
/** Today the same as FLOAT (the defect above). */
const DOUBLE = agnostic('float');

const isDouble = (meta: ColumnMeta) => meta.typeCode === TypeCode.DOUBLE || meta.dataType === 'double' || meta.dataType === 'real';

export const floatFamily: TypeFamily = { name: 'float', column: (meta) => (isDouble(meta) ? DOUBLE : FLOAT) };
