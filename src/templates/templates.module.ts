import { Module } from '@nestjs/common';
import { TemplateRegistryModule } from './template-registry.module';
import { TemplatesController } from './templates.controller';

@Module({
  imports: [TemplateRegistryModule],
  controllers: [TemplatesController],
  exports: [TemplateRegistryModule],
})
export class TemplatesModule {}
