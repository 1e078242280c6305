import { type DynamicModule, Module } from '@nestjs/common';
import { SuppressionStore } from './suppression.store';
import { SuppressionsController } from './suppressions.controller';
import { SuppressionsService } from './suppressions.service';

/** The suppression list (workers check it before each send) and, with `withRoutes()`, its API. */
@Module({
  providers: [SuppressionStore],
  exports: [SuppressionStore],
})
export class SuppressionsModule {
  static withRoutes(): DynamicModule {
    return {
      module: SuppressionRoutesModule,
      imports: [SuppressionsModule],
      controllers: [SuppressionsController],
      providers: [SuppressionsService],
    };
  }
}

@Module({})
class SuppressionRoutesModule {}
