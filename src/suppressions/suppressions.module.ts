import { Module } from '@nestjs/common';
import { SuppressionStore } from './suppression.store';
import { SuppressionsService } from './suppressions.service';

/** The suppression list: workers check it before each send; the API manages it (SuppressionsController). */
@Module({
  providers: [SuppressionStore, SuppressionsService],
  exports: [SuppressionStore, SuppressionsService],
})
export class SuppressionsModule {}
