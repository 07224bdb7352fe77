import { AppError } from '../../../kernel/errors.js';
import type { ModuleRuntime } from '../../../platform/engine.js';
import type { Decision, ShipmentStatus } from '../domain/shipment.js';
import type { CommandOrigin, EventDraft } from '../../../kernel/envelope.js';
import { findShipment, moveShipment, toShipmentView, type ShipmentView } from '../storage/shipment-repository.js';
import type { ShipmentRow, ShipmentsDb } from '../storage/tables.js';

/** One step of the shipment's lifecycle driven by a command. */
export interface ShipmentStep {
  decide(status: ShipmentStatus): Decision;
  /** The code of the conflict when the step does not apply. */
  refusedCode: 'SHIPMENT_NOT_DISPATCHABLE' | 'SHIPMENT_NOT_DELIVERABLE';
  /** The event of the moved shipment. */
  event(moved: ShipmentRow): EventDraft;
}

/**
 * Runs a step as a command: the shipment's change and its event commit together; an unknown
 * shipment is not_found, a step the status machine refuses (or that loses a race) is a conflict.
 */
export function advanceShipment(runtime: ModuleRuntime, step: ShipmentStep) {
  return (shipmentId: string, origin?: CommandOrigin): Promise<ShipmentView> =>
    runtime.unitOfWork.run<ShipmentView, ShipmentsDb>('shipments', async (tx) => {
      const shipment = await findShipment(tx.db, shipmentId);
      if (!shipment) throw new AppError('not_found', 'SHIPMENT_NOT_FOUND', `no shipment ${shipmentId}`);
      const decision = step.decide(shipment.status);
      if (decision.refused) throw new AppError('conflict', step.refusedCode, decision.message, { details: { shipmentId, status: shipment.status } });
      const moved = decision.status === 'CREATED' ? undefined : await moveShipment(tx.db, shipment, decision.status, tx.now);
      // Lost a race to another step: to the caller, the same refusal as a moment later.
      if (!moved) throw new AppError('conflict', step.refusedCode, `shipment ${shipmentId} changed meanwhile; try again`, { details: { shipmentId } });
      tx.emit(step.event(moved));
      return toShipmentView(moved);
    }, origin);
}
