import Handlebars from 'handlebars';
import { analyseVariables, collectVariables } from './template-variables';

/** The variables of `source`, with `partials` (name → source) and custom `helpers` registered. */
function variablesOf(
  source: string,
  partials: Record<string, string> = {},
  helpers: string[] = [],
): string[] {
  const parsed = new Map(Object.entries(partials).map(([name, text]) => [name, Handlebars.parse(text)]));
  return collectVariables(Handlebars.parse(source), parsed, new Set(helpers));
}

describe('collectVariables', () => {
  describe('plain paths', () => {
    it('lists top-level and nested paths, sorted and without duplicates', () => {
      expect(variablesOf('Hi {{name}} <{{user.email}}> {{name}} {{user.address.city}}')).toEqual([
        'name',
        'user.address.city',
        'user.email',
      ]);
    });

    it('lists paths of triple-stash (unescaped) output', () => {
      expect(variablesOf('{{{signatureHtml}}}')).toEqual(['signatureHtml']);
    });

    it('finds nothing in plain text', () => {
      expect(variablesOf('<p>Hello</p>')).toEqual([]);
    });
  });

  describe('helpers', () => {
    it('lists the parameters of a helper call but not the helper', () => {
      expect(variablesOf('{{formatDate createdAt "short"}}', {}, ['formatDate'])).toEqual(['createdAt']);
    });

    it('treats the callee of a call with parameters as a helper even when it is not registered', () => {
      expect(variablesOf('{{formatDate createdAt}}')).toEqual(['createdAt']);
    });

    it('lists the values of hash arguments but not their keys', () => {
      expect(variablesOf('{{money amount currency=order.currency digits=2}}')).toEqual([
        'amount',
        'order.currency',
      ]);
    });

    it('lists the paths inside subexpressions', () => {
      expect(variablesOf('{{upper (concat first (lower last) sep=separator)}}')).toEqual([
        'first',
        'last',
        'separator',
      ]);
    });

    it('does not list a registered helper used without parameters', () => {
      expect(variablesOf('© {{year}}', {}, ['year'])).toEqual([]);
    });

    it('lists an unregistered name used without parameters, since it can only be data', () => {
      expect(variablesOf('© {{year}}')).toEqual(['year']);
    });

    it('knows the built-in helpers lookup and log', () => {
      expect(variablesOf('{{lookup labels key}}{{log "rendering"}}')).toEqual(['key', 'labels']);
    });

    it('ignores string and number literals', () => {
      expect(variablesOf('{{default nickname "Anon" 3}}')).toEqual(['nickname']);
    });
  });

  describe('#if and #unless', () => {
    it('lists the condition and the paths of both branches', () => {
      expect(variablesOf('{{#if user.vip}}VIP {{user.name}}{{else}}{{guestName}}{{/if}}')).toEqual([
        'guestName',
        'user.name',
        'user.vip',
      ]);
    });

    it('keeps the surrounding context inside #unless', () => {
      expect(variablesOf('{{#unless verified}}{{verifyUrl}}{{/unless}}')).toEqual(['verified', 'verifyUrl']);
    });
  });

  describe('#each', () => {
    it('lists paths inside the block as items of the list', () => {
      expect(variablesOf('{{#each items}}{{title}}: {{price.amount}}{{/each}}')).toEqual([
        'items',
        'items[].price.amount',
        'items[].title',
      ]);
    });

    it('treats this and ./ as the item', () => {
      expect(variablesOf('{{#each items}}{{this}}{{.}}{{this.title}}{{./price}}{{/each}}')).toEqual([
        'items',
        'items[].price',
        'items[].title',
      ]);
    });

    it('resolves a block parameter to the item', () => {
      expect(variablesOf('{{#each items as |item|}}{{item.title}} {{item}}{{/each}}')).toEqual([
        'items',
        'items[].title',
      ]);
    });

    it('keeps the item as the context when it is also named', () => {
      expect(variablesOf('{{#each items as |item|}}{{title}}{{/each}}')).toEqual(['items', 'items[].title']);
    });

    it('does not list the index block parameter as data', () => {
      expect(variablesOf('{{#each items as |item i|}}{{i}}: {{item.title}}{{/each}}')).toEqual([
        'items',
        'items[].title',
      ]);
    });

    it('lists nested lists with one [] per level', () => {
      expect(variablesOf('{{#each orders}}{{#each lines}}{{sku}}{{/each}}{{/each}}')).toEqual([
        'orders',
        'orders[].lines',
        'orders[].lines[].sku',
      ]);
    });

    it('resolves ../ to the enclosing context', () => {
      expect(
        variablesOf('{{#each orders}}{{#each lines}}{{../id}} {{../../currency}}{{/each}}{{/each}}'),
      ).toEqual(['currency', 'orders', 'orders[].id', 'orders[].lines']);
    });

    it('reads the {{else}} branch in the outer context', () => {
      expect(variablesOf('{{#each items}}{{title}}{{else}}{{emptyMessage}}{{/each}}')).toEqual([
        'emptyMessage',
        'items',
        'items[].title',
      ]);
    });

    it('ignores @index, @key, @first and @last', () => {
      expect(variablesOf('{{#each items}}{{@index}}{{@key}}{{@first}}{{@last}}{{/each}}')).toEqual(['items']);
    });
  });

  describe('#with', () => {
    it('lists paths inside the block under the subject', () => {
      expect(variablesOf('{{#with user}}{{name}} <{{email}}>{{/with}}')).toEqual([
        'user',
        'user.email',
        'user.name',
      ]);
    });

    it('resolves a block parameter to the subject', () => {
      expect(variablesOf('{{#with account.owner as |owner|}}{{owner.name}}{{/with}}')).toEqual([
        'account.owner',
        'account.owner.name',
      ]);
    });
  });

  it('keeps the subject as the context of a named #with', () => {
    expect(variablesOf('{{#with user as |u|}}{{name}}{{/with}}')).toEqual(['user', 'user.name']);
  });

  describe('@root', () => {
    it('resolves @root paths from the top, whatever the block', () => {
      expect(variablesOf('{{#each items}}{{#with seller}}{{@root.currency}}{{/with}}{{/each}}')).toEqual([
        'currency',
        'items',
        'items[].seller',
      ]);
    });

    it('ignores @root alone and other @data variables', () => {
      expect(variablesOf('{{@root}}{{@level}}')).toEqual([]);
    });
  });

  describe('partials', () => {
    it('follows a partial and lists what it reads in the caller context', () => {
      expect(variablesOf('{{> footer}}', { footer: '{{company.name}} {{company.address}}' })).toEqual([
        'company.address',
        'company.name',
      ]);
    });

    it('does not list hash arguments of a partial as data, but lists their values', () => {
      expect(
        variablesOf('{{> button url=resetUrl label="Reset"}}', {
          button: '<a href="{{url}}">{{label}}</a> {{brandColor}}',
        }),
      ).toEqual(['brandColor', 'resetUrl']);
    });

    it('reads a partial with a context parameter under that context', () => {
      expect(variablesOf('{{> card user}}{{> card owner}}', { card: '{{name}}' })).toEqual([
        'owner',
        'owner.name',
        'user',
        'user.name',
      ]);
    });

    it('reads a partial inside #each as the item', () => {
      expect(variablesOf('{{#each items}}{{> line}}{{/each}}', { line: '{{title}}' })).toEqual([
        'items',
        'items[].title',
      ]);
    });

    it('ignores a partial it does not know', () => {
      expect(variablesOf('{{> missing}}{{name}}')).toEqual(['name']);
    });

    it('follows a layout used as a partial block, with the block content read in the caller context', () => {
      expect(
        variablesOf('{{#> layouts/base title=heading}}<p>{{body}}</p>{{/layouts/base}}', {
          'layouts/base': '<h1>{{title}}</h1>{{> @partial-block}}<footer>{{company}}</footer>',
        }),
      ).toEqual(['body', 'company', 'heading']);
    });

    it('stops at a partial that includes itself', () => {
      expect(variablesOf('{{> tree}}', { tree: '{{name}}{{#each children}}{{> tree}}{{/each}}' })).toEqual([
        'children',
        'name',
      ]);
    });

    it('stops at partials that include each other', () => {
      expect(variablesOf('{{> a}}', { a: '{{x}}{{> b}}', b: '{{y}}{{> a}}' })).toEqual(['x', 'y']);
    });
  });
});

describe('analyseVariables: required paths', () => {
  const parse = (source: string) => Handlebars.parse(source);
  const requiredOf = (source: string, partials: Record<string, string> = {}) =>
    analyseVariables(
      parse(source),
      new Map(Object.entries(partials).map(([name, src]) => [name, parse(src)])),
    ).required;

  it('requires unconditional partial and helper arguments', () => {
    expect(
      requiredOf('{{> button url=actionUrl label="Go"}} {{lookup table key}}', { button: '{{url}}' }),
    ).toEqual(['actionUrl', 'key', 'table']);
  });

  it('does not require block conditions, list subjects, or anything inside a block', () => {
    expect(
      requiredOf(
        '{{#if coupon}}{{> button url=couponUrl}}{{/if}}{{#each items}}{{> button url=link}}{{/each}}',
        { button: '{{url}}' },
      ),
    ).toEqual([]);
  });

  it('leaves plain output to strict mode', () => {
    expect(requiredOf('Hi {{name}}')).toEqual([]);
  });
});
