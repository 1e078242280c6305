import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireScope } from '../auth/auth.decorators';
import { ApiIdempotencyKey } from '../idempotency/api-idempotency-key';
import { ApiProblemResponses } from '../common/api-problem-responses';
import { notFound } from '../common/problem-error';
import { PreviewTemplateDto, RenderedTemplateDto, TemplateDto, TemplateListDto } from './dto/template.dto';
import { htmlToText } from './html-to-text';
import { TEMPLATE_NAME_PATTERN } from './template-name';
import { toTemplateProblem } from './template-problems';
import { TemplateRegistry } from './template-registry';

@ApiTags('templates')
@Controller('api/v1/templates')
export class TemplatesController {
  constructor(private readonly templates: TemplateRegistry) {}

  @Get()
  @RequireScope('read')
  @ApiOperation({ summary: 'List templates with the variables each uses' })
  @ApiOkResponse({ type: TemplateListDto })
  @ApiProblemResponses(503)
  list(): TemplateListDto {
    return { items: this.templates.list(), nextCursor: null };
  }

  @Get(':name')
  @RequireScope('read')
  @ApiOperation({ summary: 'One template and the variables it uses' })
  @ApiOkResponse({ type: TemplateDto })
  @ApiProblemResponses(404)
  get(@Param('name') name: string): TemplateDto {
    const template = TEMPLATE_NAME_PATTERN.test(name) ? this.templates.find(name) : undefined;
    if (!template) throw notFound(`Template "${name.slice(0, 64)}"`);
    return template;
  }

  @Post(':name/preview')
  @ApiIdempotencyKey()
  @HttpCode(200)
  @RequireScope('read')
  @ApiOperation({ summary: 'Render a template with data; nothing is sent' })
  @ApiOkResponse({ type: RenderedTemplateDto })
  @ApiProblemResponses(400, 404, 415, 422)
  preview(@Param('name') name: string, @Body() body: PreviewTemplateDto): RenderedTemplateDto {
    this.get(name);
    try {
      const rendered = this.templates.render(name, body.data ?? {});
      return { ...rendered, text: rendered.text ?? htmlToText(rendered.html ?? '') };
    } catch (error) {
      throw toTemplateProblem(error);
    }
  }
}
