import { AppError } from '../../../kernel/errors.js';
import type { PayloadOf } from '../../../kernel/catalog.js';
import type { EventEnvelope } from '../../../kernel/envelope.js';
import type { HandlerContext } from '../../../platform/delivery/consumer.js';
import { cancelShipment } from '../domain/shipment.js';
import { findShipmentByOrder, moveShipment, recordCancelledOrder } from '../storage/shipment-repository.js';
import type { ShipmentsDb } from '../storage/tables.js';

/** OrderCancelled → a shipment not yet dispatched is cancelled (no event); one on its way is left and logged. */
export function onOrderCancelled() {
  return async (event: EventEnvelope<PayloadOf<'OrderCancelled'>>, ctx: HandlerContext<ShipmentsDb>): Promise<void> => {
    const { orderId, reason } = event.payload;
    await recordCancelledOrder(ctx.db, orderId, reason, ctx.now);
    const shipment = await findShipmentByOrder(ctx.db, orderId);
    if (!shipment) {
      ctx.log.info({ orderId }, 'OrderCancelled before any shipment: a later OrderPaid ships nothing');
      return;
    }
    const decision = cancelShipment(shipment.status);
    if (decision.refused) {
      ctx.log.info({ orderId, shipmentId: shipment.shipment_id, status: shipment.status, code: decision.code }, `OrderCancelled leaves the shipment: ${decision.message}`);
      return;
    }
    if (!(await moveShipment(ctx.db, shipment, 'CANCELLED', ctx.now))) {
      // Dispatched meanwhile by another process: retrying decides again on the new status.
      throw new AppError('conflict', 'SHIPMENT_CHANGED_CONCURRENTLY', `shipment ${shipment.shipment_id} changed while being cancelled`);
    }
    ctx.log.info({ orderId, shipmentId: shipment.shipment_id }, 'shipment cancelled with its order');
  };
}
