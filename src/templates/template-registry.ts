import { Injectable } from '@nestjs/common';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Handlebars from 'handlebars';
import { AppConfig } from '../config/app-config';
import { AppLogger } from '../logging/app-logger';
import { TEMPLATE_NAME_PATTERN } from './template-name';
import { analyseVariables } from './template-variables';

export interface RenderedTemplate {
  subject: string;
  html?: string;
  /** Absent when the template has no text.hbs: the text part is then made from the HTML (see htmlToText). */
  text?: string;
}

export interface TemplateSummary {
  name: string;
  /** The data paths the template reads, partials and layouts included. */
  variables: string[];
  /** Which files the template has; `text` is made from `html` when it has no text.hbs. */
  parts: ('subject' | 'html' | 'text')[];
}

export class TemplateNotFoundError extends Error {
  constructor(readonly template: string) {
    super(`template "${template}" does not exist`);
  }
}

export class TemplateRenderError extends Error {
  constructor(
    readonly template: string,
    message: string,
    /** The missing variable, when that is what failed. */
    readonly variable?: string,
  ) {
    super(message);
  }
}

/** Raised at start when the templates directory cannot be loaded: the process must not start half-equipped. */
export class TemplateLoadError extends Error {}

type Render = (data: unknown) => string;

interface CompiledTemplate extends TemplateSummary {
  /** Paths checked before rendering (arguments that strict mode does not check). */
  required: string[];
  subject: Render;
  html?: Render;
  text?: Render;
}

const MISSING_VARIABLE = /^"([^"]+)" not defined in/;

/**
 * Loads `<TEMPLATES_DIR>/<name>/{subject,html,text}.hbs`, partials from `_partials/` and layouts from
 * `_layouts/` (as partials named `layouts/<name>`, used with `{{#> layouts/base}}…{{/layouts/base}}`), and
 * compiles each template once at start. Rendering is strict: a variable the data lacks is an error rather
 * than a hole in a sent email. HTML is escaped; subject and text are not (they are not HTML), and the
 * subject is folded onto one line.
 */
@Injectable()
export class TemplateRegistry {
  private readonly handlebars = Handlebars.create();
  private readonly templates = new Map<string, CompiledTemplate>();

  constructor(
    config: AppConfig,
    private readonly logger: AppLogger,
  ) {
    this.logger.setContext('templates');
    this.load(config.templates.dir);
  }

  list(): TemplateSummary[] {
    return [...this.templates.values()].map(summaryOf);
  }

  find(name: string): TemplateSummary | undefined {
    const template = this.templates.get(name);
    return template && summaryOf(template);
  }

  /** Renders a template with `data`; throws TemplateNotFoundError or TemplateRenderError. */
  render(name: string, data: Record<string, unknown>): RenderedTemplate {
    const template = this.templates.get(name);
    if (!template) throw new TemplateNotFoundError(name);
    const started = performance.now();
    const missing = template.required.find((path) => valueAt(data, path) === undefined);
    if (missing)
      throw new TemplateRenderError(name, `template "${name}" needs the variable "${missing}"`, missing);
    try {
      const html = template.html?.(data);
      const text = template.text?.(data);
      const rendered: RenderedTemplate = {
        subject: template.subject(data).replace(/\s+/g, ' ').trim(),
        ...(html !== undefined ? { html } : {}),
        ...(text !== undefined ? { text } : {}),
      };
      this.logger.debug(
        { template: name, renderMs: round(performance.now() - started) },
        'template rendered',
      );
      return rendered;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const variable = MISSING_VARIABLE.exec(message)?.[1];
      this.logger.debug({ template: name, variable }, 'template render failed');
      throw new TemplateRenderError(
        name,
        variable
          ? `template "${name}" needs the variable "${variable}"`
          : `template "${name}" failed: ${message}`,
        variable,
      );
    }
  }

  private load(dir: string): void {
    if (!existsSync(dir) || !statSync(dir).isDirectory()) {
      throw new TemplateLoadError(`TEMPLATES_DIR: ${dir} is not a directory`);
    }
    const partialSources = new Map<string, hbs.AST.Program>();
    for (const [folder, prefix] of [
      ['_partials', ''],
      ['_layouts', 'layouts/'],
    ] as const) {
      for (const file of hbsFiles(join(dir, folder))) {
        const name = prefix + basename(file, '.hbs');
        const ast = this.parse(file);
        partialSources.set(name, ast);
        this.handlebars.registerPartial(name, this.handlebars.compile(ast, { strict: true }));
      }
    }

    for (const name of readdirSync(dir).sort()) {
      const folder = join(dir, name);
      if (name.startsWith('_') || !statSync(folder).isDirectory()) continue;
      if (!TEMPLATE_NAME_PATTERN.test(name)) {
        throw new TemplateLoadError(
          `template folder "${name}" must be named with lower-case letters, digits, - and _`,
        );
      }
      this.templates.set(name, this.compileTemplate(name, folder, partialSources));
    }
    this.logger.info({ dir, templates: [...this.templates.keys()] }, 'templates loaded');
  }

  private compileTemplate(
    name: string,
    folder: string,
    partials: Map<string, hbs.AST.Program>,
  ): CompiledTemplate {
    const file = (part: string) => join(folder, `${part}.hbs`);
    if (!existsSync(file('subject'))) throw new TemplateLoadError(`template "${name}" has no subject.hbs`);
    if (!existsSync(file('html')) && !existsSync(file('text'))) {
      throw new TemplateLoadError(`template "${name}" needs html.hbs, text.hbs or both`);
    }
    const variables = new Set<string>();
    const required = new Set<string>();
    const parts: CompiledTemplate['parts'] = [];
    const compilePart = (part: 'subject' | 'html' | 'text'): Render | undefined => {
      if (!existsSync(file(part))) return undefined;
      const ast = this.parse(file(part));
      const found = analyseVariables(ast, partials);
      found.all.forEach((v) => variables.add(v));
      found.required.forEach((v) => required.add(v));
      parts.push(part);
      return this.handlebars.compile(ast, { strict: true, noEscape: part !== 'html' });
    };
    const subject = compilePart('subject')!;
    const html = compilePart('html');
    const text = compilePart('text');
    return {
      name,
      parts,
      variables: [...variables].sort(),
      required: [...required],
      subject,
      ...(html ? { html } : {}),
      ...(text ? { text } : {}),
    };
  }

  private parse(file: string): hbs.AST.Program {
    try {
      return this.handlebars.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new TemplateLoadError(
        `${file}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`,
      );
    }
  }
}

/** The value at a dotted path of the data, or undefined when any step is missing. */
function valueAt(data: unknown, path: string): unknown {
  let value = data;
  for (const key of path.split('.')) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

function hbsFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.hbs'))
    .sort()
    .map((f) => join(dir, f));
}

function summaryOf({ name, variables, parts }: CompiledTemplate): TemplateSummary {
  return { name, variables, parts };
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;
