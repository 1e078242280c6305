// `hbs.AST` is the global namespace of handlebars' own type declarations.

const BUILT_IN_HELPERS = new Set([
  'if',
  'unless',
  'each',
  'with',
  'lookup',
  'log',
  'helperMissing',
  'blockHelperMissing',
]);

interface Scope {
  /** What a path in this scope is prefixed with: '' at the root, 'items[].' inside {{#each items}}. */
  prefix: string;
  /** Block parameters bound in this scope (`as |item|`), mapped to the prefix they stand for. */
  blockParams: ReadonlyMap<string, string>;
  /** Names a partial call passes as hash arguments (`{{> button url=x}}`): inside the partial they are not data. */
  provided: ReadonlySet<string>;
  /** Inside a block helper (`#if`, `#each`, …), which decides whether its content renders at all. */
  conditional: boolean;
}

export interface TemplateVariables {
  /** Every data path the template reads. */
  all: string[];
  /**
   * Paths read unconditionally as helper or partial arguments (`{{> button url=actionUrl}}`). Handlebars'
   * strict mode checks plain `{{name}}` output but not arguments, so these are checked before rendering.
   */
  required: string[];
}

/**
 * The data paths a template reads (`name`, `user.email`, `items[].title`), following partials and layouts,
 * so `GET /templates/{name}` can tell callers what `data` to send. Helper names and `@data` variables are
 * not data paths.
 */
export function collectVariables(
  program: hbs.AST.Program,
  partials: ReadonlyMap<string, hbs.AST.Program>,
  helpers: ReadonlySet<string> = new Set(),
): string[] {
  return analyseVariables(program, partials, helpers).all;
}

/** The data paths a template reads, and which of them must be present for it to render without a hole. */
export function analyseVariables(
  program: hbs.AST.Program,
  partials: ReadonlyMap<string, hbs.AST.Program>,
  helpers: ReadonlySet<string> = new Set(),
): TemplateVariables {
  /** Each path found, and whether some unconditional argument needs it. */
  const found = new Map<string, boolean>();
  const visiting = new Set<string>();
  const isHelper = (name: string) => BUILT_IN_HELPERS.has(name) || helpers.has(name);

  const pathOf = (path: hbs.AST.PathExpression, stack: Scope[]): string | undefined => {
    if (path.parts.length === 0) return undefined; // `this`, `.`
    let parts = path.parts;
    let scope = stack[Math.max(0, stack.length - 1 - path.depth)]!;
    if (path.data) {
      if (parts[0] !== 'root') return undefined; // @index, @key, @first...
      parts = parts.slice(1);
      scope = stack[0]!;
      if (parts.length === 0) return undefined;
    }
    if (!path.data && scope.provided.has(parts[0]!)) return undefined;
    const bound = scope.blockParams.get(parts[0]!);
    if (bound !== undefined) return parts.length > 1 ? bound + parts.slice(1).join('.') : undefined;
    return scope.prefix + parts.join('.');
  };

  const visitExpression = (
    node: hbs.AST.Expression | undefined,
    stack: Scope[],
    isArgument: boolean,
  ): void => {
    if (!node) return;
    if (node.type === 'PathExpression') {
      const path = pathOf(node as hbs.AST.PathExpression, stack);
      const required = isArgument && !stack[stack.length - 1]!.conditional && !path?.includes('[]');
      if (path) found.set(path, (found.get(path) ?? false) || required);
    } else if (node.type === 'SubExpression') {
      const sub = node as hbs.AST.SubExpression;
      sub.params.forEach((p) => visitExpression(p, stack, isArgument));
      sub.hash?.pairs.forEach((pair) => visitExpression(pair.value, stack, isArgument));
    }
  };

  /** A mustache or a block's opening: its arguments are required for a mustache, optional for a block. */
  const visitCall = (
    node: { path: hbs.AST.Expression; params: hbs.AST.Expression[]; hash?: hbs.AST.Hash },
    stack: Scope[],
    argumentsRequired: boolean,
  ) => {
    const callee = node.path as hbs.AST.PathExpression;
    const isCall = node.params.length > 0 || (node.hash?.pairs.length ?? 0) > 0;
    if (!isCall && !(callee.type === 'PathExpression' && isHelper(callee.original)))
      visitExpression(callee, stack, false);
    node.params.forEach((p) => visitExpression(p, stack, argumentsRequired));
    node.hash?.pairs.forEach((pair) => visitExpression(pair.value, stack, argumentsRequired));
  };

  const visitPartial = (node: hbs.AST.PartialStatement | hbs.AST.PartialBlockStatement, stack: Scope[]) => {
    node.params.forEach((p) => visitExpression(p, stack, true));
    node.hash?.pairs.forEach((pair) => visitExpression(pair.value, stack, true));
    const name = node.name.type === 'PathExpression' ? node.name.original : undefined;
    const partial = name && !name.startsWith('@') ? partials.get(name) : undefined;
    if (!partial || visiting.has(name!)) return;
    const current = stack[stack.length - 1]!;
    const context =
      node.params[0]?.type === 'PathExpression'
        ? pathOf(node.params[0] as hbs.AST.PathExpression, stack)
        : '';
    const provided = new Set([...current.provided, ...(node.hash?.pairs.map((pair) => pair.key) ?? [])]);
    const prefix = context ? `${context}.` : current.prefix;
    visiting.add(name!);
    visitProgram(partial, [...stack, { ...current, prefix, provided }]);
    visiting.delete(name!);
  };

  const visitBlock = (node: hbs.AST.BlockStatement, stack: Scope[]) => {
    const helper = node.path.original;
    visitCall(node, stack, false);
    const subject =
      node.params[0]?.type === 'PathExpression'
        ? pathOf(node.params[0] as hbs.AST.PathExpression, stack)
        : undefined;
    const current = stack[stack.length - 1]!;
    let inner: Scope[];
    if ((helper === 'each' || helper === 'with') && subject !== undefined) {
      const prefix = helper === 'each' ? `${subject}[].` : `${subject}.`;
      const [itemName, indexName] = node.program.blockParams ?? [];
      // The block's context is the item whether or not it is also named (`as |item index|`); the second
      // block parameter is the index or key, which is not data.
      const blockParams = new Map(current.blockParams);
      if (itemName) blockParams.set(itemName, prefix);
      const provided = indexName ? new Set([...current.provided, indexName]) : current.provided;
      inner = [...stack, { prefix, blockParams, provided, conditional: true }];
    } else {
      inner = [...stack, { ...current, conditional: true }];
    }
    visitProgram(node.program, inner);
    if (node.inverse) visitProgram(node.inverse, [...stack, { ...current, conditional: true }]);
  };

  const visitProgram = (program: hbs.AST.Program, stack: Scope[]): void => {
    for (const statement of program.body) {
      switch (statement.type) {
        case 'MustacheStatement':
          visitCall(statement as hbs.AST.MustacheStatement, stack, true);
          break;
        case 'BlockStatement':
          visitBlock(statement as hbs.AST.BlockStatement, stack);
          break;
        case 'PartialStatement':
          visitPartial(statement as hbs.AST.PartialStatement, stack);
          break;
        case 'PartialBlockStatement': {
          const block = statement as hbs.AST.PartialBlockStatement;
          visitPartial(block, stack);
          visitProgram(block.program, stack);
          break;
        }
      }
    }
  };

  visitProgram(program, [{ prefix: '', blockParams: new Map(), provided: new Set(), conditional: false }]);
  const all = [...found.keys()].sort();
  return { all, required: all.filter((path) => found.get(path)) };
}
