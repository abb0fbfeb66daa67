/**
 * The person's DID (`/account/identity`): where it is anchored, its verification methods and
 * delegates in plain words, and the whole DID document for those who want to read or copy it.
 */
import { useApi } from '../lib/api.ts';
import { Badge, Code, Load, Section, Table, Time, ViewTitle } from '../lib/ui.tsx';
import type { MyDid, VerificationMethod } from './types.ts';

/** Whether the DID's chain answered, and where the DID is anchored when it did. */
export function ChainBadge({ chain }: { chain: MyDid['chain'] }) {
  if (!chain.reachable) return <Badge tone="bad">Chain unreachable</Badge>;
  return (
    <Badge tone="good">
      Anchored on chain {chain.chainId}, registry {chain.registry}
    </Badge>
  );
}

const fragment = (id: string) => (id.includes('#') ? `#${id.split('#').pop()}` : id);

/** Keys that were added to the DID as delegates (ERC-1056 `delegate-N` methods). */
const isDelegate = (method: VerificationMethod) => /#delegate-\d+$/.test(method.id);

/** What a verification method is, in a line: its type and the account or key it names. */
function MethodLine({ method }: { method: VerificationMethod }) {
  const key = method.blockchainAccountId ?? method.publicKeyHex;
  return (
    <li>
      <Code>{fragment(method.id)}</Code> · {method.type}
      {key ? (
        <>
          {' '}
          · <Code>{String(key)}</Code>
        </>
      ) : null}
    </li>
  );
}

/** The verification methods of `did`, owner's first, then the delegates. */
function Methods({ did }: { did: MyDid }) {
  const methods = did.document?.verificationMethod ?? [];
  const own = methods.filter((m) => !isDelegate(m));
  const delegates = methods.filter(isDelegate);
  return (
    <>
      <h3>Keys that can act for your DID</h3>
      {own.length > 0 ? (
        <ul class="plain-list" aria-label="Verification methods">
          {own.map((method) => (
            <MethodLine key={method.id} method={method} />
          ))}
        </ul>
      ) : (
        <p class="hint">The document lists no verification method.</p>
      )}
      <h3>Delegates</h3>
      {delegates.length > 0 ? (
        <ul class="plain-list" aria-label="Delegates">
          {delegates.map((method) => (
            <MethodLine key={method.id} method={method} />
          ))}
        </ul>
      ) : (
        <p class="hint">No other key has been added to your DID.</p>
      )}
    </>
  );
}

const OPERATION_STATES = {
  pending: { tone: 'neutral', text: 'Waiting' },
  sent: { tone: 'warn', text: 'Sent, not yet confirmed' },
  confirmed: { tone: 'good', text: 'Confirmed' },
  failed: { tone: 'bad', text: 'Failed' },
} as const;

/** The chain jobs that changed the DID, newest first. */
function Operations({ operations }: { operations: MyDid['operations'] }) {
  return (
    <Table
      caption="Changes to your DID on the chain"
      captionHidden
      head={['Change', 'Asked for', 'State']}
      rows={operations.length}
      empty="Your DID has not been changed since it was created."
    >
      {operations.map((op) => {
        const state = OPERATION_STATES[op.status];
        return (
          <tr key={op.id}>
            <td>{op.summary}</td>
            <td>
              <Time value={op.createdAt} />
            </td>
            <td>
              <Badge tone={state.tone}>{state.text}</Badge>
            </td>
          </tr>
        );
      })}
    </Table>
  );
}

/** The DID view. */
export function IdentityView() {
  const loaded = useApi<MyDid>('/api/me/did');
  return (
    <>
      <ViewTitle>Your DID</ViewTitle>
      <p>
        Your decentralized identifier (DID) is yours: it is recorded on a public blockchain, and apps can
        check it without asking this service.
      </p>
      <Load loaded={loaded} label="your DID">
        {(did) => (
          <>
            <Section title="Where it is recorded">
              <dl class="facts">
                <dt>DID</dt>
                <dd>
                  <Code>{did.did}</Code>
                </dd>
                <dt>Chain</dt>
                <dd>
                  <ChainBadge chain={did.chain} />
                </dd>
                {did.chain.blockNumber !== null ? (
                  <>
                    <dt>Latest block seen</dt>
                    <dd>{did.chain.blockNumber}</dd>
                  </>
                ) : null}
                {did.metadata?.updated ? (
                  <>
                    <dt>Last changed</dt>
                    <dd>
                      <Time value={did.metadata.updated} />
                    </dd>
                  </>
                ) : null}
                {did.metadata?.deactivated ? (
                  <>
                    <dt>State</dt>
                    <dd>
                      <Badge tone="bad">Deactivated</Badge>
                    </dd>
                  </>
                ) : null}
              </dl>
            </Section>
            <Section title="What your DID document says">
              {did.document ? (
                <>
                  <Methods did={did} />
                  <details>
                    <summary>The whole DID document (JSON)</summary>
                    <pre class="json">{JSON.stringify(did.document, null, 2)}</pre>
                  </details>
                </>
              ) : (
                <p class="hint" id="did-document-problem">
                  {did.problem?.detail ?? 'The DID document cannot be read now.'}
                </p>
              )}
            </Section>
            <Section title="Recent changes on the chain">
              <Operations operations={did.operations} />
            </Section>
          </>
        )}
      </Load>
    </>
  );
}
