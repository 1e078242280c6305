import { type DynamicModule, Module } from '@nestjs/common';
import { EmailRecordsModule } from '../emails/email-records.module';
import { QueueModule } from '../queue/queue.module';
import { DeadLetterRepository } from './dead-letter.repository';
import { DeadLettersController } from './dead-letters.controller';
import { DeadLettersService } from './dead-letters.service';

/** The dead-letter list and its retries (the API and the dashboard) and, with `withRoutes()`, their API. */
@Module({
  imports: [QueueModule, EmailRecordsModule],
  providers: [DeadLetterRepository, DeadLettersService],
  exports: [DeadLetterRepository, DeadLettersService],
})
export class DeadLettersModule {
  /** The routes import this one module, so an api+monitor process keeps one instance of each provider. */
  static withRoutes(): DynamicModule {
    return {
      module: DeadLetterRoutesModule,
      imports: [DeadLettersModule],
      controllers: [DeadLettersController],
    };
  }
}

@Module({})
class DeadLetterRoutesModule {}
