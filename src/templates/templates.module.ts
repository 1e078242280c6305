import { Module } from '@nestjs/common';
import { TemplateRegistry } from './template-registry';

/** The compiled templates: the api renders at accept time, workers render group emails at send time. */
@Module({
  providers: [TemplateRegistry],
  exports: [TemplateRegistry],
})
export class TemplatesModule {}
