import { Module } from '@nestjs/common';
import { ServiceTokenVerifier } from './service-token.verifier';

/**
 * The service-token verifier, for everything that checks tokens: ServiceTokenGuard on every port (the API's
 * routes, and `/metrics` everywhere) and the SMTP ingress's AUTH.
 */
@Module({ providers: [ServiceTokenVerifier], exports: [ServiceTokenVerifier] })
export class AuthModule {}
