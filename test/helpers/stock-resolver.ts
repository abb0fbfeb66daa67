/**
 * Stock ethr-did-resolver for a chain, with no Trustgate code in between: the independent verifier that
 * tests and benchmarks compare Trustgate's DIDs and documents against.
 */
import { Resolver, type ResolverRegistry } from 'did-resolver';
import type { AbstractProvider } from 'ethers';
import { getResolver } from 'ethr-did-resolver';

// ethr-did-resolver's types name ethers' CommonJS build; at run time both are the same ethers 6.
type EthrProvider = NonNullable<
  Extract<Parameters<typeof getResolver>[0], { networks?: unknown }>['provider']
>;

export function stockEthrResolver(
  provider: AbstractProvider,
  registry: string,
  options: { name?: string; chainId?: number; extra?: ResolverRegistry } = {},
): Resolver {
  return new Resolver({
    ...getResolver({
      networks: [
        {
          name: options.name ?? '0x7a69',
          chainId: options.chainId ?? 31337,
          provider: provider as unknown as EthrProvider,
          registry,
          legacyNonce: false,
        },
      ],
    }),
    ...options.extra,
  });
}
