import { describe, expect, it } from 'vitest';
import { cancelShipment, createShipment, deliverShipment, dispatchShipment, type ShipmentStatus } from './shipment.js';

describe('shipment status machine', () => {
  describe('create (OrderPaid)', () => {
    it('given no shipment, when the order is paid, then a shipment is CREATED', () => {
      expect(createShipment(undefined, false)).toEqual({ refused: false, status: 'CREATED' });
    });
    it.each<ShipmentStatus>(['CREATED', 'DISPATCHED', 'DELIVERED', 'CANCELLED'])('given a %s shipment, when the order is paid again, then no second shipment is created', (status) => {
      expect(createShipment(status, false)).toMatchObject({ refused: true, code: 'SHIPMENT_ALREADY_EXISTS' });
    });
    it('given a cancelled order, when OrderPaid arrives, then nothing is shipped', () => {
      expect(createShipment(undefined, true)).toMatchObject({ refused: true, code: 'ORDER_CANCELLED' });
    });
  });

  describe('dispatch', () => {
    it('given a CREATED shipment, when it is dispatched, then it is DISPATCHED', () => {
      expect(dispatchShipment('CREATED')).toEqual({ refused: false, status: 'DISPATCHED' });
    });
    it.each<ShipmentStatus>(['DISPATCHED', 'DELIVERED', 'CANCELLED'])('given a %s shipment, when it is dispatched, then it is refused', (status) => {
      expect(dispatchShipment(status)).toMatchObject({ refused: true, code: 'SHIPMENT_NOT_DISPATCHABLE' });
    });
  });

  describe('deliver', () => {
    it('given a DISPATCHED shipment, when it is delivered, then it is DELIVERED', () => {
      expect(deliverShipment('DISPATCHED')).toEqual({ refused: false, status: 'DELIVERED' });
    });
    it.each<ShipmentStatus>(['CREATED', 'DELIVERED', 'CANCELLED'])('given a %s shipment, when it is delivered, then it is refused', (status) => {
      expect(deliverShipment(status)).toMatchObject({ refused: true, code: 'SHIPMENT_NOT_DELIVERABLE' });
    });
  });

  describe('cancel (OrderCancelled)', () => {
    it('given a CREATED shipment, when the order is cancelled, then it is CANCELLED', () => {
      expect(cancelShipment('CREATED')).toEqual({ refused: false, status: 'CANCELLED' });
    });
    it.each<ShipmentStatus>(['DISPATCHED', 'DELIVERED', 'CANCELLED'])('given a %s shipment, when the order is cancelled, then it is left as it is', (status) => {
      expect(cancelShipment(status)).toMatchObject({ refused: true, code: 'SHIPMENT_NOT_CANCELLABLE' });
    });
  });
});
