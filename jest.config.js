// Unit tests live beside the code (src/**/*.spec.ts); end-to-end tests drive the built app (test/**/*.e2e-spec.ts).
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2023',
    },
    module: { type: 'commonjs' },
  },
];

/** @type {import('jest').Config} */
module.exports = {
  // End-to-end tests start processes and wait for deliveries; unit tests never come close to this.
  testTimeout: 60_000,
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      // test/deploy: checks of the deployment files (docker/k8s) against the app's code, no process started;
      // test/docs: docs/API.md against the OpenAPI document, built in process.
      roots: ['<rootDir>/src', '<rootDir>/test/deploy', '<rootDir>/test/docs'],
      testMatch: ['**/*.spec.ts'],
      transform: { '^.+\\.ts$': swc },
      // kubernetes-models (test/deploy's schemas) exports its ES modules under the `import` condition only,
      // which Jest's CommonJS resolution never tries: its files are named directly.
      moduleNameMapper: {
        '^(kubernetes-models|@kubernetes-models/keda)/(.+)$': '<rootDir>/node_modules/$1/$2.js',
      },
    },
    {
      displayName: 'e2e',
      testEnvironment: 'node',
      roots: ['<rootDir>/test'],
      testMatch: ['**/*.e2e-spec.ts'],
      transform: { '^.+\\.ts$': swc },
    },
  ],
};
