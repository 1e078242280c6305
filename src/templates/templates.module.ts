import { Module } from '@nestjs/common';
import { TemplateRegistry } from './template-registry';
import { TemplatesController } from './templates.controller';

@Module({
  controllers: [TemplatesController],
  providers: [TemplateRegistry],
  exports: [TemplateRegistry],
})
export class TemplatesModule {}
