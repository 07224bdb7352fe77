import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { AppError } from '../../../kernel/errors.js';
import type { EventEnvelope } from '../../../kernel/envelope.js';
import type { IdGenerator } from '../../../kernel/ids.js';
import type { HandlerContext } from '../../../platform/delivery/consumer.js';
import { createShipment } from '../domain/shipment.js';
import { trackingNumberFor } from '../domain/tracking-number.js';
import { shipmentEvent } from '../events.js';
import { insertShipment, shipmentAndCancellationOf } from '../storage/shipment-repository.js';
import type { ShipmentRow, ShipmentsDb } from '../storage/tables.js';

const Open = { additionalProperties: true } as const;

/** OrderPaid as the shipments module needs it: the catalog's fields plus what to ship and where. */
export const OrderPaidForShipping = Type.Object(
  {
    orderId: Type.String({ minLength: 1 }),
    paymentId: Type.String({ minLength: 1 }),
    customerId: Type.Optional(Type.String()),
    items: Type.Array(Type.Object({ productId: Type.String({ minLength: 1 }), quantity: Type.Integer({ minimum: 1 }) }, Open), { minItems: 1 }),
    shippingAddress: Type.Object({ street: Type.String(), city: Type.String(), postalCode: Type.String(), country: Type.String() }, Open),
  },
  Open,
);
export type OrderPaidForShipping = Static<typeof OrderPaidForShipping>;
const checkOrderPaid = TypeCompiler.Compile(OrderPaidForShipping);

/** OrderPaid → one shipment per order with a tracking number → ShipmentCreated. */
export function onOrderPaid(deps: { ids: IdGenerator }) {
  return async (event: EventEnvelope<Record<string, unknown>>, ctx: HandlerContext<ShipmentsDb>): Promise<void> => {
    const payload = readOrderPaid(event.payload);
    const { orderId } = payload;
    const { shipment: existing, cancelled } = await shipmentAndCancellationOf(ctx.db, orderId);
    const decision = createShipment(existing?.status, cancelled);
    if (decision.refused) {
      ctx.log.info({ orderId, code: decision.code }, `OrderPaid ignored: ${decision.message}`);
      return;
    }
    const shipmentId = deps.ids.next();
    const row: ShipmentRow = {
      shipment_id: shipmentId,
      order_id: orderId,
      status: decision.status,
      tracking_number: trackingNumberFor(shipmentId),
      items: JSON.stringify(payload.items.map(({ productId, quantity }) => ({ productId, quantity }))),
      shipping_address: JSON.stringify(payload.shippingAddress),
      customer_id: payload.customerId ?? null,
      payment_id: payload.paymentId,
      correlation_id: event.correlationId,
      created_at: ctx.now,
      updated_at: ctx.now,
      dispatched_at: null,
      delivered_at: null,
      cancelled_at: null,
    };
    if (!(await insertShipment(ctx.db, row))) {
      ctx.log.info({ orderId }, 'OrderPaid ignored: another delivery created the shipment first');
      return;
    }
    ctx.emit(shipmentEvent('ShipmentCreated', { orderId, shipmentId, trackingNumber: row.tracking_number }, row.correlation_id));
  };
}

/** A contract fault of the publisher: thrown, so the event is retried and then dead-lettered with the reason. */
function readOrderPaid(payload: unknown): OrderPaidForShipping {
  const error = checkOrderPaid.Check(payload) ? undefined : checkOrderPaid.Errors(payload).First();
  if (error) throw new AppError('validation', 'ORDER_PAID_INCOMPLETE', `OrderPaid lacks what a shipment needs: ${error.path || '/'} ${error.message}`);
  return payload as OrderPaidForShipping;
}
