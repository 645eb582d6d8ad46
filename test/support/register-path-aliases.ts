import { loadConfig, register } from 'tsconfig-paths';

// Jest's global setup runs outside its module mapper: resolve the `@app/*`
// aliases from tsconfig.json. Imported first, for its side effect.
const config = loadConfig(process.cwd());
if (config.resultType === 'failed') throw new Error(`tsconfig.json: ${config.message}`);
register({ baseUrl: config.absoluteBaseUrl, paths: config.paths });
