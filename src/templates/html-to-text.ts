import { compile } from 'html-to-text';

/**
 * The plain-text part of an email that has only HTML: readable text with links kept as `label [url]`,
 * images dropped, headings as written. Compiled once. It runs at send time in the worker rather than for every
 * recipient of a group at accept time, where its cost would multiply (docs/BENCHMARKS.md).
 */
export const htmlToText: (html: string) => string = compile({
  wordwrap: 78,
  selectors: [
    { selector: 'a', options: { hideLinkHrefIfSameAsText: true } },
    { selector: 'img', format: 'skip' },
    ...['h1', 'h2', 'h3', 'h4', 'h5', 'h6'].map((selector) => ({ selector, options: { uppercase: false } })),
  ],
});
