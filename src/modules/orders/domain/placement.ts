import { AppError } from '../../../kernel/errors.js';
import type { Address, OrderPlacedPayload, SourceChannel } from '../events.js';
import type { Order, OrderLine } from './order.js';

/** A line as the client sent it; a unitPrice, when sent, must equal the catalog's. */
export interface RequestedLine {
  productId: string;
  quantity: number;
  unitPrice?: number;
}

/** What the catalog says the requested lines cost (all in one currency). */
export interface CatalogQuote {
  currency: string;
  lines: { productId: string; name: string; quantity: number; unitPrice: number }[];
}

/** The order as priced from the catalog. */
export interface PricedOrder {
  currency: string;
  lines: OrderLine[];
  totalAmount: number;
}

/** Product ids that appear on more than one line (placement refuses them). */
export function duplicateProducts<L extends { productId: string }>(items: readonly L[]): string[] {
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  for (const { productId } of items) (seen.has(productId) ? duplicates : seen).add(productId);
  return [...duplicates];
}

/**
 * Prices the requested lines from the catalog quote and checks what the client claimed:
 * a different currency (CURRENCY_MISMATCH), unit price (PRICE_MISMATCH) or total
 * (TOTAL_MISMATCH) is refused, with the catalog's figures in `details`.
 */
export function priceOrder(items: readonly RequestedLine[], claimed: { currency?: string; totalAmount?: number }, quote: CatalogQuote): PricedOrder {
  if (claimed.currency !== undefined && claimed.currency !== quote.currency) {
    throw new AppError('validation', 'CURRENCY_MISMATCH', `the catalog prices these items in ${quote.currency}, not ${claimed.currency}`, {
      details: { expected: quote.currency, received: claimed.currency },
    });
  }
  const byProduct = new Map(quote.lines.map((l) => [l.productId, l]));
  const lines: OrderLine[] = [];
  const mismatches: { productId: string; expected: number; received: number }[] = [];
  for (const item of items) {
    const quoted = byProduct.get(item.productId);
    if (!quoted) throw new AppError('validation', 'UNKNOWN_PRODUCT', `unknown product ${item.productId}`, { details: { productId: item.productId } });
    if (item.unitPrice !== undefined && item.unitPrice !== quoted.unitPrice) {
      mismatches.push({ productId: item.productId, expected: quoted.unitPrice, received: item.unitPrice });
    }
    lines.push({ productId: item.productId, name: quoted.name, quantity: item.quantity, unitPrice: quoted.unitPrice });
  }
  if (mismatches.length > 0) {
    throw new AppError('validation', 'PRICE_MISMATCH', `unit prices differ from the catalog for ${mismatches.map((m) => m.productId).join(', ')}`, {
      details: { currency: quote.currency, mismatches },
    });
  }
  const totalAmount = lines.reduce((sum, l) => sum + l.quantity * l.unitPrice, 0);
  if (!Number.isSafeInteger(totalAmount)) throw new AppError('validation', 'AMOUNT_TOO_LARGE', 'the order total is too large');
  if (claimed.totalAmount !== undefined && claimed.totalAmount !== totalAmount) {
    throw new AppError('validation', 'TOTAL_MISMATCH', `the total is ${totalAmount}, not ${claimed.totalAmount} (minor units of ${quote.currency})`, {
      details: { currency: quote.currency, expected: totalAmount, received: claimed.totalAmount },
    });
  }
  return { currency: quote.currency, lines, totalAmount };
}

/** `ORD-YYYY-NNNNNN`: the year of placement and the year's counter, zero-padded to six digits (more when it outgrows them). */
export function formatOrderNumber(year: number, counter: number): string {
  return `ORD-${year}-${String(counter).padStart(6, '0')}`;
}

/** Everything a new order is made of besides its price. */
export interface NewOrder {
  orderId: string;
  orderNumber: string;
  sagaId: string;
  correlationId: string;
  customerId: string;
  shippingAddress: Address;
  billingAddress: Address | null;
  sourceChannel: SourceChannel | null;
  paymentToken: string | null;
}

/** A PENDING order, placed at `at`. */
export function createOrder(fields: NewOrder, priced: PricedOrder, at: number): Order {
  return {
    ...fields,
    status: 'PENDING',
    items: priced.lines,
    totalAmount: priced.totalAmount,
    currency: priced.currency,
    cancellationReason: null,
    cancelledBy: null,
    rejectionReason: null,
    paymentFailureReason: null,
    paymentId: null,
    shipmentId: null,
    trackingNumber: null,
    dispatchedAt: null,
    deliveredAt: null,
    pendingEdit: null,
    editCount: 0,
    lastEdit: null,
    statusHistory: [{ status: 'PENDING', at }],
    createdAt: at,
    updatedAt: at,
  };
}

/** The OrderPlaced payload of a new order. */
export function orderPlacedPayload(order: Order): OrderPlacedPayload {
  return {
    orderId: order.orderId,
    orderNumber: order.orderNumber,
    customerId: order.customerId,
    items: order.items.map((l) => ({ productId: l.productId, quantity: l.quantity, unitPrice: l.unitPrice })),
    itemCount: order.items.reduce((units, l) => units + l.quantity, 0),
    totalAmount: order.totalAmount,
    currency: order.currency,
    shippingAddress: order.shippingAddress,
    sourceChannel: order.sourceChannel,
    sagaId: order.sagaId,
  };
}
