/**
 * Certificate path validation for attestation statements and metadata BLOBs, with node:crypto only.
 *
 * Rules, in the order they are checked:
 * 1. The chain is non-empty, every certificate parses, and none appears twice.
 * 2. Every certificate is within its validity period at `now`.
 * 3. Each certificate is issued by the next one: names match (`checkIssued`) AND the signature verifies
 *    with the next one's public key. A name match alone is forgeable; a signature alone could cross
 *    unrelated names.
 * 4. Every certificate after the leaf is a CA (basicConstraints cA = true).
 * 5. The last certificate either is one of the roots (same SHA-256 fingerprint) or is issued and signed
 *    by a root that is itself a CA and within its validity period.
 *
 * Not checked: revocation (no CRL or OCSP: Trustgate makes no network calls while a user waits, and
 * attestation CAs rarely publish either; compromised models are caught by the metadata BLOB's status
 * reports instead), path length constraints, name constraints and key usage, which node:crypto does not
 * expose. Attestation chains are short (one to three certificates) and their roots are pinned per
 * authenticator model, which is what those constraints would otherwise limit.
 */
import { X509Certificate } from 'node:crypto';

/** The outcome of `verifyCertificateChain`: the root the chain ended at, or why it did not. */
export type ChainVerification = { ok: true; root: X509Certificate } | { ok: false; reason: string };

/**
 * Verifies that `chainDer` (DER, leaf first) leads to one of `roots` (DER) under the rules above.
 * Never throws for bad input: a malformed certificate is a failed verification.
 */
export function verifyCertificateChain(
  chainDer: readonly Uint8Array[],
  roots: readonly Uint8Array[],
  now: Date = new Date(),
): ChainVerification {
  if (chainDer.length === 0) return fail('the chain is empty');
  if (roots.length === 0) return fail('no trust roots to verify against');

  const chain: X509Certificate[] = [];
  for (const [index, der] of chainDer.entries()) {
    const cert = parseCertificate(der);
    if (!cert) return fail(`certificate ${index} could not be parsed`);
    chain.push(cert);
  }
  if (new Set(chain.map((c) => c.fingerprint256)).size !== chain.length) {
    return fail('the chain contains the same certificate twice');
  }

  for (const [index, cert] of chain.entries()) {
    const validity = checkValidity(cert, now);
    if (validity) return fail(`certificate ${index} (${cert.subject.replace(/\n/g, ', ')}) ${validity}`);
  }

  for (let index = 0; index < chain.length - 1; index++) {
    const cert = chain[index]!;
    const issuer = chain[index + 1]!;
    if (!issuer.ca) return fail(`certificate ${index + 1} is not a CA`);
    if (!issuedBy(cert, issuer))
      return fail(`certificate ${index} is not issued by certificate ${index + 1}`);
  }

  const last = chain[chain.length - 1]!;
  const anchors = roots.map(parseCertificate).filter((r): r is X509Certificate => r !== undefined);
  const pinned = anchors.find((root) => root.fingerprint256 === last.fingerprint256);
  if (pinned) return { ok: true, root: pinned };

  let expiredRoot = false;
  for (const root of anchors) {
    if (!root.ca || !issuedBy(last, root)) continue;
    if (checkValidity(root, now)) {
      expiredRoot = true;
      continue;
    }
    return { ok: true, root };
  }
  return fail(
    expiredRoot
      ? 'the issuing root is outside its validity period'
      : 'the chain does not end at a trusted root',
  );
}

/** Splits PEM text (any number of `CERTIFICATE` blocks, other blocks ignored) into DER certificates. */
export function pemToDerCertificates(pem: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const match of pem.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)) {
    out.push(new Uint8Array(Buffer.from(match[1]!.replace(/\s+/g, ''), 'base64')));
  }
  return out;
}

/** Parses DER into an `X509Certificate`, or undefined when it is not one. */
export function parseCertificate(der: Uint8Array): X509Certificate | undefined {
  try {
    return new X509Certificate(der);
  } catch {
    return undefined;
  }
}

function issuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

/** Undefined when `cert` is valid at `now`, else what is wrong (unparseable dates fail closed). */
function checkValidity(cert: X509Certificate, now: Date): string | undefined {
  const notBefore = new Date(cert.validFrom);
  const notAfter = new Date(cert.validTo);
  if (Number.isNaN(notBefore.getTime()) || Number.isNaN(notAfter.getTime()))
    return 'has an unreadable validity';
  if (now < notBefore) return 'is not yet valid';
  if (now > notAfter) return 'has expired';
  return undefined;
}

function fail(reason: string): ChainVerification {
  return { ok: false, reason };
}
