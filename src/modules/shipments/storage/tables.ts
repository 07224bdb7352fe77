import type { ShipmentStatus } from '../domain/shipment.js';

/** One shipment per order. */
export interface ShipmentRow {
  shipment_id: string;
  order_id: string;
  status: ShipmentStatus;
  tracking_number: string;
  /** JSON: [{productId, quantity}]. */
  items: string;
  /** JSON: the order's shipping address. */
  shipping_address: string;
  customer_id: string | null;
  payment_id: string;
  /** The order's flow (from OrderPaid); every event of this shipment carries it. */
  correlation_id: string;
  created_at: number;
  updated_at: number;
  dispatched_at: number | null;
  delivered_at: number | null;
  cancelled_at: number | null;
}

/** Orders cancelled before they had a shipment, so a late OrderPaid ships nothing. */
export interface CancelledOrderRow {
  order_id: string;
  reason: string;
  cancelled_at: number;
}

export interface ShipmentsDb {
  shipments: ShipmentRow;
  shipment_cancelled_orders: CancelledOrderRow;
}
