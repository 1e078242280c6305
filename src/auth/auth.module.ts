import { Module } from '@nestjs/common';
import { ServiceTokenVerifier } from './service-token.verifier';

/**
 * The service-token verifier, for every server that checks tokens: the API's guard, and the `/metrics` route
 * of the worker's and the monitor's own HTTP servers.
 */
@Module({ providers: [ServiceTokenVerifier], exports: [ServiceTokenVerifier] })
export class AuthModule {}
