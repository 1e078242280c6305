/** Structured fields pino blanks out wherever they appear (first line of defence). */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["x-service-token"]',
  'headers.authorization',
  'headers["x-service-token"]',
  'authorization',
  'password',
  'pass',
  'apiKey',
  'token',
  'secret',
  'auth',
  '*.authorization',
  '*.password',
  '*.pass',
  '*.apiKey',
  '*.api_key',
  '*.token',
  '*.secret',
  '*.auth',
];

export const REDACTED = '[REDACTED]';

const TOKEN_SHAPE = /st_(?:dev|live)_[0-9A-Za-z]{20,}/g;

/**
 * Returns a function that scrubs a serialized log line (second line of defence, for secrets inside free text
 * such as an error message): anything shaped like a service token, and each literal secret in its raw,
 * JSON-escaped and base64 forms.
 */
export function createLineScrubber(secrets: readonly string[]): (line: string) => string {
  const literals = [
    ...new Set(
      secrets
        .filter((s) => s.length >= 4)
        .flatMap((s) => [s, JSON.stringify(s).slice(1, -1), Buffer.from(s).toString('base64')]),
    ),
  ];
  return (line) => {
    let out = line.includes('st_') ? line.replace(TOKEN_SHAPE, REDACTED) : line;
    for (const literal of literals) {
      if (out.includes(literal)) out = out.replaceAll(literal, REDACTED);
    }
    return out;
  };
}
