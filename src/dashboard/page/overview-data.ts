/**
 * The overview as the page's script reads it: the JSON the page embeds (`#overview-data`) and what
 * `GET api/overview` answers. The server's `Overview` (../overview.ts) must stay assignable to it, which
 * ../overview.page.spec.ts has the compiler check. The figures that `data-field` cells show are read by their
 * path (format.ts `readField`), so only what the script handles itself is named here.
 */
export interface OverviewData {
  readonly generatedAt: string;
  readonly redisAvailable: boolean;
  readonly queues: { readonly providers: Readonly<Partial<Record<string, ProviderData>>> } | null;
  readonly throughput: ThroughputData | null;
  readonly deadLetters: { readonly items: readonly DeadLetterData[]; readonly total: number } | null;
  readonly services: Readonly<Record<string, ServiceData>> | null;
}

export interface ProviderData {
  readonly inChain: boolean;
  readonly circuit: {
    readonly state: string;
    readonly consecutiveFailures: number;
    readonly openUntil: string | null;
  };
  readonly rateLimit: { readonly limit: string; readonly burst: number; readonly tokens: number } | null;
}

export interface ServiceData {
  readonly calls: number;
  readonly emailsAccepted: number;
  readonly emailsSent: number;
  readonly emailsFailed: number;
  readonly emailsDead: number;
  readonly lastCallAt: string | null;
}

export interface DeadLetterData {
  readonly id: string;
  readonly service: string;
  readonly subject: string;
  readonly to: readonly string[];
  readonly lastError: string | null;
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly deadAt: string;
}

/** Emails sent and failed per minute: x in Unix seconds, one value per minute, oldest first. */
export interface ThroughputData {
  readonly minutes: readonly number[];
  readonly sent: readonly number[];
  readonly failed: readonly number[];
  readonly totals: { readonly sent: number; readonly failed: number };
}
