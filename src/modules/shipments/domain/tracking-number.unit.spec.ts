import { describe, expect, it } from 'vitest';
import { trackingNumberFor } from './tracking-number.js';

describe('tracking numbers', () => {
  it('given a shipment id, when its tracking number is derived, then it is TRK- and 10 uppercase alphanumerics, the same every time', () => {
    const tracking = trackingNumberFor('2f1c7a0e-8d0b-4c59-9a57-0e4c1e3f2b11');
    expect(tracking).toMatch(/^TRK-[A-Z0-9]{10}$/);
    expect(trackingNumberFor('2f1c7a0e-8d0b-4c59-9a57-0e4c1e3f2b11')).toBe(tracking);
  });
  it('given different shipment ids, when tracking numbers are derived, then they differ', () => {
    const numbers = new Set(Array.from({ length: 1000 }, (_, i) => trackingNumberFor(`shipment-${i}`)));
    expect(numbers.size).toBe(1000);
  });
});
