// Small facts about a peer the transport checks: what its certificate was issued for, and its
// remote address in one form.

import type { X509Certificate } from 'node:crypto';

const SERVER_AUTH_OID = '1.3.6.1.5.5.7.3.1';

/**
 * Node certificates carry the serverAuth usage (every node also accepts connections); an API
 * client certificate (`redex certs issue NAME --client`) has clientAuth only and never joins the
 * mesh, whatever key it holds. A certificate without the extension may be used for anything.
 */
export function isNodeCertificate(cert: X509Certificate): boolean {
  const usages = cert.keyUsage;
  return usages === undefined || usages.length === 0 || usages.includes(SERVER_AUTH_OID);
}

/** A remote address without the IPv4-mapped prefix a dual-stack socket reports. */
export function hostOf(address: string | undefined): string | undefined {
  return address?.replace(/^::ffff:(?=\d+\.)/i, '');
}
