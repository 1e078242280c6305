import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { ProviderName } from '../config/env.schema';
import { AppConfig } from '../config/app-config';
import { EMAIL_PROVIDERS, type EmailProvider } from './email-provider';

/** The configured providers by name, and the default one (`EMAIL_PROVIDER`). */
@Injectable()
export class ProviderRegistry implements OnApplicationShutdown {
  private readonly byName: ReadonlyMap<string, EmailProvider>;

  constructor(
    @Inject(EMAIL_PROVIDERS) providers: EmailProvider[],
    private readonly config: AppConfig,
  ) {
    this.byName = new Map(providers.map((provider) => [provider.name, provider]));
  }

  get primary(): EmailProvider {
    return this.byName.get(this.config.providers.primary)!;
  }

  get(name: string): EmailProvider | undefined {
    return this.byName.get(name);
  }

  all(): EmailProvider[] {
    return [...this.byName.values()];
  }

  names(): ProviderName[] {
    return [...this.byName.keys()] as ProviderName[];
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([...this.byName.values()].map((provider) => provider.close()));
  }
}
