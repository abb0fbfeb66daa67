/** `npm run bench`: runs every benchmark suite, prints a table, writes JSON under bench/results/. */
import { credentialsBench } from './credentials.ts';
import { foundationBench } from './foundation.ts';
import { report, startServiceProcess } from './lib.ts';
import { policyBench } from './policy.ts';
import { relayerBench } from './relayer.ts';
import { resolutionBench } from './resolution.ts';
import { riskBench } from './risk.ts';
import { signInBench } from './signin.ts';

const service = await startServiceProcess();
try {
  report('foundation', await foundationBench(service));
} finally {
  await service.stop();
}
report('resolution', await resolutionBench());
report('relayer', await relayerBench());
report('credentials', await credentialsBench());
report('signin', await signInBench());
report('policy', await policyBench());
report('risk', await riskBench());
