import type { ModuleApis } from '../../composition.js';
import { AppError } from '../../kernel/errors.js';
import { fromMinorUnits, toMinorUnits } from '../../kernel/money.js';
import type { PlaceOrderInput } from '../../modules/orders/index.js';
import type { Principal } from '../auth.js';
import type { PlaceOrderBody } from '../schemas/orders.js';

/**
 * Whose order it is: a customer's own (a body naming someone else is refused 403, the same
 * id is accepted), or for an admin the body's customerId, which is then required.
 */
export function customerOf(body: PlaceOrderBody, caller: Principal): string {
  if (caller.role === 'customer') {
    if (body.customerId !== undefined && body.customerId !== caller.sub) {
      throw new AppError('forbidden', 'CUSTOMER_MISMATCH', 'a customer places orders only for itself: leave customerId out or send your own');
    }
    return caller.sub;
  }
  if (body.customerId === undefined) throw new AppError('validation', 'CUSTOMER_ID_REQUIRED', 'an admin must say whose order it is: customerId is required');
  return body.customerId;
}

/**
 * The orders command input: decimals become minor units of the order's currency (the body's,
 * else the catalog's for these items), checked by the orders module against the catalog.
 */
export async function placeOrderInput(body: PlaceOrderBody, customerId: string, apis: ModuleApis): Promise<PlaceOrderInput> {
  const items = body.items.map(({ productId, quantity }) => ({ productId, quantity }));
  const claimsAmounts = body.totalAmount !== undefined || body.items.some((i) => i.unitPrice !== undefined);
  const currency = body.currency ?? (claimsAmounts ? (await apis.inventory.quote(items)).currency : undefined);
  const minor = (amount: number | undefined) => (amount === undefined || currency === undefined ? undefined : toMinorUnits(amount, currency));
  return {
    customerId,
    items: body.items.map((i) => ({ productId: i.productId, quantity: i.quantity, ...(i.unitPrice === undefined ? {} : { unitPrice: minor(i.unitPrice) }) })),
    ...(body.currency === undefined ? {} : { currency: body.currency }),
    ...(body.totalAmount === undefined ? {} : { totalAmount: minor(body.totalAmount) }),
    shippingAddress: body.shippingAddress,
    ...(body.billingAddress === undefined ? {} : { billingAddress: body.billingAddress }),
    ...(body.paymentMethod === undefined ? {} : { paymentMethod: body.paymentMethod }),
    ...(body.sourceChannel === undefined ? {} : { sourceChannel: body.sourceChannel }),
  };
}

/** Restates a price or total mismatch in the decimals the client sent (the module speaks minor units). */
export function inDecimals(error: unknown): unknown {
  if (!(error instanceof AppError) || typeof error.details?.currency !== 'string') return error;
  const currency = error.details.currency;
  const decimal = (n: unknown) => (typeof n === 'number' ? fromMinorUnits(n, currency) : n);
  if (error.code === 'PRICE_MISMATCH' && Array.isArray(error.details.mismatches)) {
    const mismatches = (error.details.mismatches as { productId: string; expected: number; received: number }[]).map((m) => ({
      productId: m.productId,
      expected: decimal(m.expected),
      received: decimal(m.received),
    }));
    const list = mismatches.map((m) => `${m.productId} costs ${String(m.expected)}, not ${String(m.received)}`).join('; ');
    return new AppError('validation', error.code, `unit prices differ from the catalog (${currency}): ${list}`, { cause: error, details: { currency, mismatches } });
  }
  if (error.code === 'TOTAL_MISMATCH') {
    const expected = decimal(error.details.expected);
    const received = decimal(error.details.received);
    return new AppError('validation', error.code, `the catalog total is ${String(expected)} ${currency}, not ${String(received)}`, {
      cause: error,
      details: { currency, expected, received },
    });
  }
  return error;
}
