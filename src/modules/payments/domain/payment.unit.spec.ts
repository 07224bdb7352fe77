import { describe, expect, it } from 'vitest';
import { cancelPayment, recordAnswer, refundPayment, startPayment, type PaymentState, type PaymentStatus } from './payment.js';

const given = (status: PaymentStatus, refundOnSuccess = false): PaymentState => ({ status, refundOnSuccess });

describe('payment status machine', () => {
  describe('start (OrderConfirmed)', () => {
    it('given no payment, when the order is confirmed, then a pending payment starts', () => {
      expect(startPayment(undefined, false)).toEqual({ refused: false, state: given('pending') });
    });
    it.each<PaymentStatus>(['pending', 'succeeded', 'failed', 'refunded'])('given a %s payment, when the order is confirmed again, then a second charge is refused', (status) => {
      expect(startPayment(given(status), false)).toMatchObject({ refused: true, code: 'PAYMENT_ALREADY_EXISTS' });
    });
    it('given the order was cancelled first, when it is confirmed, then nothing is charged', () => {
      expect(startPayment(undefined, true)).toMatchObject({ refused: true, code: 'ORDER_ALREADY_CANCELLED' });
    });
  });

  describe('gateway answer', () => {
    it('given a pending payment, when the gateway succeeds, then it succeeds and PaymentProcessed is due', () => {
      expect(recordAnswer(given('pending'), { outcome: 'succeeded' })).toEqual({ refused: false, state: given('succeeded'), emit: 'PaymentProcessed', refundNow: false });
    });
    it('given a pending payment, when the gateway declines, then it fails and PaymentFailed is due', () => {
      expect(recordAnswer(given('pending'), { outcome: 'declined', reason: 'card_declined' })).toEqual({ refused: false, state: given('failed'), emit: 'PaymentFailed', refundNow: false });
    });
    it('given a pending payment, when the gateway does not answer, then it stays pending and nothing is emitted', () => {
      expect(recordAnswer(given('pending'), { outcome: 'no_answer' })).toEqual({ refused: false, state: given('pending'), emit: null, refundNow: false });
    });
    it('given a pending payment of a cancelled order, when the gateway succeeds, then it succeeds and is refunded at once', () => {
      expect(recordAnswer(given('pending', true), { outcome: 'succeeded' })).toEqual({ refused: false, state: given('succeeded', true), emit: 'PaymentProcessed', refundNow: true });
    });
    it('given a pending payment of a cancelled order, when the gateway declines, then it just fails', () => {
      expect(recordAnswer(given('pending', true), { outcome: 'declined', reason: 'card_declined' })).toEqual({ refused: false, state: given('failed', true), emit: 'PaymentFailed', refundNow: false });
    });
    it.each<PaymentStatus>(['succeeded', 'failed', 'refunded'])('given a %s payment, when another answer arrives, then it is refused', (status) => {
      expect(recordAnswer(given(status), { outcome: 'succeeded' })).toMatchObject({ refused: true, code: 'PAYMENT_ALREADY_SETTLED' });
      expect(recordAnswer(given(status), { outcome: 'declined', reason: 'card_declined' })).toMatchObject({ refused: true, code: 'PAYMENT_ALREADY_SETTLED' });
    });
  });

  describe('order cancelled', () => {
    it('given a succeeded payment, when the order is cancelled, then it is refunded', () => {
      expect(cancelPayment(given('succeeded'))).toEqual({ refused: false, state: given('succeeded'), action: 'refund' });
    });
    it('given a pending payment, when the order is cancelled, then a later success is refunded', () => {
      expect(cancelPayment(given('pending'))).toEqual({ refused: false, state: given('pending', true), action: 'refund-on-success' });
    });
    it('given a pending payment already marked, when the order is cancelled again, then it is refused', () => {
      expect(cancelPayment(given('pending', true))).toMatchObject({ refused: true, code: 'PAYMENT_ALREADY_VOIDED' });
    });
    it('given a failed payment, when the order is cancelled, then there is nothing to refund', () => {
      expect(cancelPayment(given('failed'))).toMatchObject({ refused: true, code: 'PAYMENT_NOT_CHARGED' });
    });
    it('given a refunded payment, when the order is cancelled again, then it is not refunded twice', () => {
      expect(cancelPayment(given('refunded'))).toMatchObject({ refused: true, code: 'PAYMENT_ALREADY_REFUNDED' });
    });
  });

  describe('refund', () => {
    it('given a succeeded payment, when it is refunded, then it is refunded', () => {
      expect(refundPayment(given('succeeded'))).toEqual({ refused: false, state: given('refunded') });
    });
    it('given a refunded payment, when it is refunded again, then it is refused', () => {
      expect(refundPayment(given('refunded'))).toMatchObject({ refused: true, code: 'PAYMENT_ALREADY_REFUNDED' });
    });
    it.each<PaymentStatus>(['pending', 'failed'])('given a %s payment, when it is refunded, then it is refused', (status) => {
      expect(refundPayment(given(status))).toMatchObject({ refused: true, code: 'PAYMENT_NOT_REFUNDABLE' });
    });
  });
});
