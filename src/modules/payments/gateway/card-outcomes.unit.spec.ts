import { describe, expect, it } from 'vitest';
import { cardOutcome } from './card-outcomes.js';

const never = () => {
  throw new Error('a test token must not draw randomness');
};

describe('simulated gateway outcomes', () => {
  it('given tok_visa, when charged, then it always succeeds, whatever the success rate', () => {
    expect(cardOutcome('tok_visa', 0, never)).toEqual({ outcome: 'succeeded' });
  });
  it('given tok_chargeDeclined, when charged, then it is always declined with card_declined', () => {
    expect(cardOutcome('tok_chargeDeclined', 1, never)).toEqual({ outcome: 'declined', reason: 'card_declined' });
  });
  it('given the other decline tokens, when charged, then they are declined with their reason', () => {
    expect(cardOutcome('tok_chargeDeclinedInsufficientFunds', 1, never)).toEqual({ outcome: 'declined', reason: 'insufficient_funds' });
    expect(cardOutcome('tok_chargeDeclinedExpiredCard', 1, never)).toEqual({ outcome: 'declined', reason: 'expired_card' });
  });
  it('given tok_timeout, when charged, then the gateway never answers', () => {
    expect(cardOutcome('tok_timeout', 1, never)).toEqual({ outcome: 'no_answer' });
  });
  it('given no token, when charged, then it succeeds when the draw is below the success rate', () => {
    expect(cardOutcome(null, 0.9, () => 0.89)).toEqual({ outcome: 'succeeded' });
    expect(cardOutcome(null, 0.9, () => 0.9)).toEqual({ outcome: 'declined', reason: 'card_declined' });
  });
  it('given no token, when the success rate is 0 or 1, then every charge fails or succeeds', () => {
    expect(cardOutcome(null, 0, () => 0)).toMatchObject({ outcome: 'declined' });
    expect(cardOutcome(null, 1, () => 0.999_999)).toEqual({ outcome: 'succeeded' });
  });
  it('given an unknown token, when charged, then it behaves as an ordinary card (success rate)', () => {
    expect(cardOutcome('tok_somebank', 1, () => 0.5)).toEqual({ outcome: 'succeeded' });
    expect(cardOutcome('tok_somebank', 0, () => 0.5)).toMatchObject({ outcome: 'declined' });
  });
});
