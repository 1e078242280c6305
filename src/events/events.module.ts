import { Global, Module } from '@nestjs/common';
import { EmailEvents } from './email-events';

@Global()
@Module({ providers: [EmailEvents], exports: [EmailEvents] })
export class EventsModule {}
