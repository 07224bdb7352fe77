// Test fixtures of the domain specs (not part of the module's runtime).
import type { Order } from './order.js';
import type { OrderStatus } from './order-status.js';
import { startSaga, type Saga, type SagaState } from './saga.js';

export const T0 = Date.UTC(2026, 2, 1, 12, 0, 0);

export function anOrder(status: OrderStatus = 'PENDING', patch: Partial<Order> = {}): Order {
  return {
    orderId: 'order-1',
    orderNumber: 'ORD-2026-000001',
    customerId: 'customer-1',
    status,
    items: [
      { productId: 'p-1', name: 'Widget', quantity: 2, unitPrice: 1250 },
      { productId: 'p-2', name: 'Gadget', quantity: 1, unitPrice: 999 },
    ],
    totalAmount: 3499,
    currency: 'USD',
    shippingAddress: { street: '1 Main St', city: 'Springfield', postalCode: '12345', country: 'US' },
    billingAddress: null,
    sourceChannel: 'web',
    paymentToken: 'tok_visa',
    correlationId: 'corr-1',
    sagaId: 'saga-1',
    cancellationReason: null,
    cancelledBy: null,
    rejectionReason: null,
    paymentFailureReason: null,
    paymentId: status === 'PAID' || status === 'SHIPPED' || status === 'DELIVERED' ? 'pay-1' : null,
    shipmentId: status === 'SHIPPED' || status === 'DELIVERED' ? 'ship-1' : null,
    trackingNumber: status === 'SHIPPED' || status === 'DELIVERED' ? 'TRK-1' : null,
    dispatchedAt: null,
    deliveredAt: null,
    pendingEdit: null,
    editCount: 0,
    lastEdit: null,
    statusHistory: [{ status: 'PENDING', at: T0 }],
    createdAt: T0,
    updatedAt: T0,
    ...patch,
  };
}

export function aSaga(state: SagaState = 'STARTED', patch: Partial<Saga> = {}): Saga {
  return { ...startSaga({ sagaId: 'saga-1', orderId: 'order-1' }, T0, 30_000), state, completedAt: state === 'STARTED' ? null : T0 + 10, ...patch };
}
