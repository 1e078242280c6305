import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AppConfig } from '../config/app-config';
import type { AppLogger } from '../logging/app-logger';
import { htmlToText } from './html-to-text';
import {
  TemplateLoadError,
  TemplateNotFoundError,
  TemplateRegistry,
  TemplateRenderError,
} from './template-registry';

const quietLogger = {
  setContext: () => undefined,
  debug: () => undefined,
  info: () => undefined,
} as unknown as AppLogger;

/** A templates directory made of `files` (path → content), loaded into a registry. */
function registryWith(files: Record<string, string>): TemplateRegistry {
  const dir = mkdtempSync(join(tmpdir(), 'templates-'));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return new TemplateRegistry({ templates: { dir } } as AppConfig, quietLogger);
}

const shipped = () =>
  new TemplateRegistry(
    { templates: { dir: join(__dirname, '..', '..', 'templates') } } as AppConfig,
    quietLogger,
  );

describe('TemplateRegistry', () => {
  it('lists the shipped templates with their variables, partials and layout included', () => {
    expect(shipped().list()).toEqual([
      {
        name: 'password-reset',
        parts: ['subject', 'html', 'text'],
        variables: ['expiresInMinutes', 'name', 'product', 'resetUrl'],
      },
      { name: 'welcome', parts: ['subject', 'html'], variables: ['actionUrl', 'name', 'product'] },
    ]);
  });

  it('escapes HTML in the html part only, and folds the subject onto one line', () => {
    const registry = registryWith({
      'note/subject.hbs': 'Hi {{name}}\n and more\n',
      'note/html.hbs': '<p>{{name}}</p>',
      'note/text.hbs': 'Hello {{name}}',
    });
    expect(registry.render('note', { name: '<b>Ana & Bo</b>' })).toEqual({
      subject: 'Hi <b>Ana & Bo</b> and more',
      html: '<p>&lt;b&gt;Ana &amp; Bo&lt;/b&gt;</p>',
      text: 'Hello <b>Ana & Bo</b>',
    });
  });

  it('leaves the text part to be made from the HTML when there is no text.hbs', () => {
    const registry = registryWith({
      'note/subject.hbs': 'Hi',
      'note/html.hbs': '<h1>Hello {{name}}</h1><p>See <a href="{{url}}">your page</a>.</p>',
    });
    const rendered = registry.render('note', { name: 'Ana', url: 'https://example.com/a' });
    expect(rendered.text).toBeUndefined();
    expect(htmlToText(rendered.html!)).toBe('Hello Ana\n\nSee your page [https://example.com/a].');
  });

  it('fails on a missing variable instead of sending a hole', () => {
    const registry = registryWith({ 'note/subject.hbs': 'Hi {{name}}', 'note/text.hbs': 'x' });
    expect(() => registry.render('note', {})).toThrow(
      new TemplateRenderError('note', 'template "note" needs the variable "name"', 'name'),
    );
  });

  it('fails on a missing partial argument, which strict mode alone would render empty', () => {
    const registry = registryWith({
      '_partials/link.hbs': '<a href="{{url}}">go</a>',
      'note/subject.hbs': 'Hi',
      'note/html.hbs': '{{> link url=actionUrl}}',
    });
    expect(() => registry.render('note', {})).toThrow(TemplateRenderError);
    expect(registry.render('note', { actionUrl: 'https://x.example' }).html).toBe(
      '<a href="https://x.example">go</a>',
    );
  });

  it('lets a variable used only under #if be absent', () => {
    const registry = registryWith({
      'note/subject.hbs': 'Hi',
      'note/text.hbs': '{{#if coupon}}Code {{coupon}}{{/if}}.',
    });
    expect(registry.render('note', {}).text).toBe('.');
    expect(registry.render('note', { coupon: 'X1' }).text).toBe('Code X1.');
  });

  it('renders a layout around the template body', () => {
    const registry = registryWith({
      '_layouts/frame.hbs': '<main>{{> @partial-block }}</main>',
      'note/subject.hbs': 'Hi',
      'note/html.hbs': '{{#> layouts/frame}}<p>{{name}}</p>{{/layouts/frame}}',
    });
    expect(registry.render('note', { name: 'Ana' }).html).toBe('<main><p>Ana</p></main>');
  });

  it('does not reach data through prototypes', () => {
    const registry = registryWith({ 'note/subject.hbs': 'Hi', 'note/text.hbs': '{{constructor.name}}' });
    expect(() => registry.render('note', {})).toThrow(TemplateRenderError);
  });

  it('throws TemplateNotFoundError for an unknown name', () => {
    expect(() => shipped().render('nope', {})).toThrow(TemplateNotFoundError);
  });

  it('refuses to start with a template lacking subject.hbs, a bad folder name, or a syntax error', () => {
    expect(() => registryWith({ 'note/text.hbs': 'x' })).toThrow(
      new TemplateLoadError('template "note" has no subject.hbs'),
    );
    expect(() => registryWith({ 'Bad Name/subject.hbs': 'x', 'Bad Name/text.hbs': 'x' })).toThrow(
      TemplateLoadError,
    );
    expect(() => registryWith({ 'note/subject.hbs': 'Hi {{#if}}', 'note/text.hbs': 'x' })).toThrow(
      TemplateLoadError,
    );
    expect(() => registryWith({ 'note/subject.hbs': 'Hi' })).toThrow(
      new TemplateLoadError('template "note" needs html.hbs, text.hbs or both'),
    );
  });
});
