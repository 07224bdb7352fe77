import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { generateSecret, hasValidSignature, signedHeaders } from './signing.js';

describe('Standard Webhooks signing', () => {
  const body = JSON.stringify({ eventType: 'OrderPlaced', payload: { orderId: 'o-1' } });
  const now = Math.floor(Date.now() / 1000);

  it('signs so that the standardwebhooks library verifies it', () => {
    const secret = generateSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const headers = signedHeaders([secret], 'msg_1', now, body);
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it('signs with both secrets during a rotation: either verifies, a third does not', () => {
    const [fresh, old, other] = [generateSecret(), generateSecret(), generateSecret()];
    const headers = signedHeaders([fresh, old], 'msg_2', now, body);
    expect(headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(() => new Webhook(fresh).verify(body, headers)).not.toThrow();
    expect(() => new Webhook(old).verify(body, headers)).not.toThrow();
    expect(() => new Webhook(other).verify(body, headers)).toThrow();
  });

  it('refuses a changed body or id', () => {
    const secret = generateSecret();
    const headers = signedHeaders([secret], 'msg_3', now, body);
    expect(hasValidSignature(secret, 'msg_3', now, body, headers['webhook-signature']!)).toBe(true);
    expect(hasValidSignature(secret, 'msg_3', now, `${body} `, headers['webhook-signature']!)).toBe(false);
    expect(hasValidSignature(secret, 'msg_4', now, body, headers['webhook-signature']!)).toBe(false);
  });
});
