import type { Random } from '../../../kernel/clock.js';

/** What the simulated gateway decides for a charge request. */
export type CardOutcome = { outcome: 'succeeded' } | { outcome: 'declined'; reason: string } | { outcome: 'no_answer' };

// Stripe-style test tokens: each one always gives the same outcome.
const TEST_TOKENS: Readonly<Record<string, CardOutcome>> = {
  tok_visa: { outcome: 'succeeded' },
  tok_mastercard: { outcome: 'succeeded' },
  tok_amex: { outcome: 'succeeded' },
  tok_chargeDeclined: { outcome: 'declined', reason: 'card_declined' },
  tok_chargeDeclinedInsufficientFunds: { outcome: 'declined', reason: 'insufficient_funds' },
  tok_chargeDeclinedExpiredCard: { outcome: 'declined', reason: 'expired_card' },
  tok_timeout: { outcome: 'no_answer' },
};

/**
 * The outcome of charging `token`: a test token decides it; no token (or any other token, an
 * ordinary card) succeeds with probability `successRate`, drawing `random` once.
 */
export function cardOutcome(token: string | null, successRate: number, random: Random): CardOutcome {
  const fixed = token === null ? undefined : TEST_TOKENS[token];
  if (fixed) return fixed;
  return random() < successRate ? { outcome: 'succeeded' } : { outcome: 'declined', reason: 'card_declined' };
}
