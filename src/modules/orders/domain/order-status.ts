// The order status machine of SPEC §2, as data. Pure: no I/O.
//
//   PENDING → CONFIRMED → PAID → SHIPPED → DELIVERED
//   PENDING → REJECTED                       (InventoryReservationFailed)
//   CONFIRMED → PAYMENT_FAILED               (PaymentFailed)
//   PENDING | CONFIRMED | PAID → CANCELLED   (user/admin cancel, or saga timeout)

/** Every status an order can be in. */
export const ORDER_STATUSES = ['PENDING', 'CONFIRMED', 'PAID', 'SHIPPED', 'DELIVERED', 'REJECTED', 'PAYMENT_FAILED', 'CANCELLED'] as const;

/** The status of an order. */
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/** Statuses nothing leaves. */
export const TERMINAL_STATUSES: readonly OrderStatus[] = ['DELIVERED', 'REJECTED', 'PAYMENT_FAILED', 'CANCELLED'];

/**
 * What moves an order. `timeOut` is the saga deadline: it cancels like `cancel` but only
 * before payment (the deadline runs from placement until PAID).
 */
export type OrderTrigger = 'confirm' | 'reject' | 'pay' | 'failPayment' | 'ship' | 'deliver' | 'cancel' | 'timeOut';

export const ORDER_TRIGGERS: readonly OrderTrigger[] = ['confirm', 'reject', 'pay', 'failPayment', 'ship', 'deliver', 'cancel', 'timeOut'];

const TRANSITIONS: Readonly<Record<OrderTrigger, Partial<Record<OrderStatus, OrderStatus>>>> = {
  confirm: { PENDING: 'CONFIRMED' },
  reject: { PENDING: 'REJECTED' },
  pay: { CONFIRMED: 'PAID' },
  failPayment: { CONFIRMED: 'PAYMENT_FAILED' },
  ship: { PAID: 'SHIPPED' },
  deliver: { SHIPPED: 'DELIVERED' },
  cancel: { PENDING: 'CANCELLED', CONFIRMED: 'CANCELLED', PAID: 'CANCELLED' },
  timeOut: { PENDING: 'CANCELLED', CONFIRMED: 'CANCELLED' },
};

/** The status `trigger` moves `from` to, or undefined when the machine refuses it. */
export function nextStatus(from: OrderStatus, trigger: OrderTrigger): OrderStatus | undefined {
  return TRANSITIONS[trigger][from];
}

/** Whether SPEC §2 allows `from → to` by any trigger. */
export function canTransition(from: OrderStatus, to: OrderStatus): boolean {
  return ORDER_TRIGGERS.some((trigger) => nextStatus(from, trigger) === to);
}

/** Whether nothing can move an order out of `status`. */
export function isTerminal(status: OrderStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

/** Whether `value` names a status. */
export function isOrderStatus(value: string): value is OrderStatus {
  return (ORDER_STATUSES as readonly string[]).includes(value);
}
