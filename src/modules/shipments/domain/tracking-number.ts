import { createHash } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** The tracking number of a shipment: `TRK-` and 10 uppercase alphanumerics derived from its id. */
export function trackingNumberFor(shipmentId: string): string {
  const digest = createHash('sha256').update(shipmentId).digest();
  let code = '';
  for (let i = 0; i < 10; i++) code += ALPHABET[digest[i]! % ALPHABET.length];
  return `TRK-${code}`;
}
