import { escapeHtml, html, jsonForScript, SafeHtml } from './html';

describe('escapeHtml', () => {
  it('escapes the five characters that can change markup', () => {
    expect(escapeHtml(`<img src=x onerror="alert('1')">&`)).toBe(
      '&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;',
    );
  });

  it('turns any value into text', () => {
    expect(escapeHtml(42)).toBe('42');
    expect(escapeHtml(null)).toBe('null');
  });
});

describe('html', () => {
  it('escapes interpolated values', () => {
    const subject = '<script>alert(1)</script>';
    expect(html`<td>${subject}</td>`.markup).toBe('<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>');
  });

  it('escapes values inside attributes', () => {
    const id = '" onmouseover="alert(1)';
    expect(html`<button data-id="${id}"></button>`.markup).toBe(
      '<button data-id="&quot; onmouseover=&quot;alert(1)"></button>',
    );
  });

  it('nests html output without escaping it twice, and joins arrays', () => {
    const rows = ['a&b', '<c>'].map((name) => html`<li>${name}</li>`);
    // prettier-ignore
    const list = html`<ul>${rows}</ul>`;
    expect(list.markup).toBe('<ul><li>a&amp;b</li><li>&lt;c&gt;</li></ul>');
  });

  it('renders null, undefined and false as nothing, and numbers as text', () => {
    expect(html`${null}${undefined}${false}${0}${true}`.markup).toBe('0true');
  });

  it('returns SafeHtml', () => {
    expect(html`x`).toBeInstanceOf(SafeHtml);
    expect(String(html`<b>${'&'}</b>`)).toBe('<b>&amp;</b>');
  });
});

describe('jsonForScript', () => {
  it('keeps a value from closing its script element', () => {
    const markup = jsonForScript({ subject: '</script><script>alert(1)</script>' }).markup;
    expect(markup).not.toContain('</script>');
    expect(JSON.parse(markup)).toEqual({ subject: '</script><script>alert(1)</script>' });
  });

  it('escapes line and paragraph separators', () => {
    const markup = jsonForScript({ text: 'a\u2028b\u2029c&' }).markup;
    expect(markup).toBe('{"text":"a\\u2028b\\u2029c\\u0026"}');
    expect(JSON.parse(markup)).toEqual({ text: 'a\u2028b\u2029c&' });
  });
});
