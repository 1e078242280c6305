// Requests the benchmarks that count Redis's work send to the product, one by one or a few at a time.

/** POSTs a JSON body with the bench's token; anything but 202 throws. Resolves to the answer's body. */
export function postTo(base, token) {
  return async (path, body) => {
    const response = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const answer = await response.json();
    if (response.status !== 202)
      throw new Error(`POST ${path} answered ${response.status}: ${JSON.stringify(answer).slice(0, 300)}`);
    return answer;
  };
}

/** Calls `one()` `total` times, `width` at a time. */
export async function inFlight(total, width, one) {
  let started = 0;
  const loop = async () => {
    while (started < total) {
      started++;
      await one();
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, total) }, loop));
}
