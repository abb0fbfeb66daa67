/** `npm run web:build`: builds the portal and console into `dist/web/` (also run by `npm install`). */
import { ensureWebBuild } from '../web/app-build.ts';

const built = await ensureWebBuild((line) => process.stdout.write(`trustgate: ${line}\n`));
if (!built) process.stdout.write('trustgate: the portal and console build is up to date\n');
