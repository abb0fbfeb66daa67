/**
 * `npm run bench`: runs every benchmark suite (or only those named on the command line), prints a table,
 * writes JSON under bench/results/.
 */
import { auditBench } from './audit.ts';
import { credentialsBench } from './credentials.ts';
import { foundationBench } from './foundation.ts';
import { report, startServiceProcess } from './lib.ts';
import { oidcBench } from './oidc.ts';
import { policyBench } from './policy.ts';
import { relayerBench } from './relayer.ts';
import { resolutionBench } from './resolution.ts';
import { revocationBench } from './revocation.ts';
import { riskBench } from './risk.ts';
import { signInBench } from './signin.ts';
import { webBench } from './web.ts';

// `npm run bench -- credentials signin` runs only the suites named; no names runs them all.
const only = new Set(process.argv.slice(2));
const wanted = (suite: string) => only.size === 0 || only.has(suite);

if (wanted('foundation')) {
  const service = await startServiceProcess();
  try {
    report('foundation', await foundationBench(service));
  } finally {
    await service.stop();
  }
}
if (wanted('resolution')) report('resolution', await resolutionBench());
if (wanted('relayer')) report('relayer', await relayerBench());
if (wanted('credentials')) report('credentials', await credentialsBench());
if (wanted('signin')) report('signin', await signInBench());
if (wanted('policy')) report('policy', await policyBench());
if (wanted('risk')) report('risk', await riskBench());
if (wanted('oidc')) report('oidc', await oidcBench());
if (wanted('audit')) report('audit', await auditBench());
if (wanted('web')) report('web', await webBench());
if (wanted('revocation')) {
  const rows = await revocationBench();
  if (rows.length > 0) report('revocation', rows);
}
