/**
 * The direction of imports in src/ (docs/ARCHITECTURE.md, "Layers"), checked by `npm run lint`: shared types and
 * configuration at the bottom, then the infrastructure every feature uses, then the features, and the ports
 * that compose them on top. Specs may import anything.
 */
const LOWER_LAYERS = ['common', 'config', 'logging', 'redis', 'events', 'queue', 'metrics'];
const except = (folders) => `^src/(?!(${folders.join('|')})/)`;

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle means neither side can be understood or changed without the other.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'common-is-the-floor',
      severity: 'error',
      comment: 'common/ holds shared types and helpers: it imports nothing else in src/.',
      from: { path: '^src/common/' },
      to: { path: except(['common']) },
    },
    {
      name: 'config-imports-no-feature',
      severity: 'error',
      comment: 'Configuration sits below every feature; a value type it needs lives in common/.',
      from: { path: '^src/config/' },
      to: { path: except(['common', 'config']) },
    },
    {
      name: 'infrastructure-imports-no-feature',
      severity: 'error',
      comment:
        'Logging, Redis, the event bus, the queues and the metrics registry serve features, never the reverse.',
      from: { path: `^src/(${LOWER_LAYERS.join('|')})/` },
      to: { path: except(LOWER_LAYERS) },
    },
    {
      name: 'ports-on-top',
      severity: 'error',
      comment: 'Only the composition (app.module, the ports, the dashboard) imports the ports.',
      from: { path: '^src/', pathNot: '^src/(http|dashboard)/|^src/(app\\.module|main)\\.ts$' },
      to: { path: '^src/(http|dashboard)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '\\.spec\\.ts$' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    moduleSystems: ['es6', 'cjs'],
  },
};
