import { ProblemError, type FieldError } from './problem-error';

/** How many oversized fields a 413 lists (the detail says how many there were in all). */
const MAX_LISTED_FIELDS = 100;

/** A value as JSON, and its size in UTF-8 bytes: what storing it costs. */
export interface SizedJson {
  json: string;
  bytes: number;
}

export function sizedJson(value: unknown): SizedJson {
  const json = JSON.stringify(value) ?? 'null';
  return { json, bytes: Buffer.byteLength(json, 'utf8') };
}

/**
 * Refuses template data over `maxBytes` of JSON (MAX_DATA_BYTES) with 413, naming every such field (`data`,
 * `recipients[17].data`): called before anything is rendered or stored. Absent data is not measured.
 */
export function assertDataWithin(
  maxBytes: number,
  fields: Iterable<readonly [field: string, data: unknown]>,
): void {
  const errors: FieldError[] = [];
  let total = 0;
  for (const [field, data] of fields) {
    if (data === undefined) continue;
    const { bytes } = sizedJson(data);
    if (bytes <= maxBytes) continue;
    total++;
    if (errors.length < MAX_LISTED_FIELDS)
      errors.push({ field, message: `is ${bytes} bytes of JSON; at most ${maxBytes} are accepted` });
  }
  if (total === 0) return;
  const what = total === 1 ? `${errors[0]!.field} is` : `${total} data fields are`;
  throw new ProblemError(
    413,
    'payload-too-large',
    `Nothing was accepted: ${what} larger than MAX_DATA_BYTES (${maxBytes} bytes of JSON); see errors.`,
    { errors },
  );
}
