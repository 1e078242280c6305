// Prints a new service token: npm run --silent token:generate -- --service NAME --env dev|live [--env-line]
// It loads src/common/token-format.ts directly (Node's type stripping), so it works before any build.
import { parseArgs } from 'node:util';

const { generateToken, TOKEN_ENVS } = await import('../src/common/token-format.ts');

const usage = 'usage: npm run --silent token:generate -- --service NAME --env dev|live [--env-line]';
let options;
try {
  ({ values: options } = parseArgs({
    options: {
      service: { type: 'string' },
      env: { type: 'string', default: 'dev' },
      'env-line': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }));
} catch (error) {
  console.error(`${error.message}\n${usage}`);
  process.exit(2);
}
if (options.help) {
  console.log(usage);
  process.exit(0);
}
if (!options.service || !/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(options.service)) {
  console.error(`--service must name the calling service (letters, digits, - and _)\n${usage}`);
  process.exit(2);
}
if (!TOKEN_ENVS.includes(options.env)) {
  console.error(`--env must be dev or live\n${usage}`);
  process.exit(2);
}

const token = generateToken(options.env);
const variable = `SERVICE_TOKEN_${options.service.toUpperCase().replace(/-/g, '_')}_PRIMARY`;
console.log(options['env-line'] ? `${variable}=${token}` : token);
