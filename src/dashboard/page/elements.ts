/** An attribute's value; null, undefined and false leave the attribute out. */
type AttributeValue = string | number | boolean | null | undefined;
/** A child: an element, or a string that becomes a text node; null and '' add nothing. */
type Child = Node | string | null;

/**
 * An element built from values, never from markup: `text` sets its textContent, other attributes are set
 * one by one, and strings become text nodes. Whatever a subject or a service name holds stays text.
 */
export function element<Tag extends keyof HTMLElementTagNameMap>(
  tag: Tag,
  attributes: Readonly<Record<string, AttributeValue>> = {},
  children: readonly Child[] = [],
): HTMLElementTagNameMap[Tag] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'text') node.textContent = String(value);
    else node.setAttribute(name, String(value));
  }
  for (const child of children) if (child !== null && child !== '') node.append(child);
  return node;
}

/** The page's element with this id: the server renders each one the script uses (overview.page.ts). */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (!node) throw new Error(`the page has no #${id}`);
  return node as T;
}
