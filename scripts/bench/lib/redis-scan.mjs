// Walking a prefix's keys without KEYS (which blocks Redis for as long as it takes on a large key space).

/** Every key matching `pattern`, by SCAN. */
export async function scanKeys(client, pattern) {
  const found = [];
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    found.push(...keys);
    cursor = next;
  } while (cursor !== '0');
  return found;
}

/** UNLINKs every key matching `pattern`: what one phase accepted does not weigh on the next. */
export async function unlinkMatching(client, pattern) {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    if (keys.length > 0) await client.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
}
