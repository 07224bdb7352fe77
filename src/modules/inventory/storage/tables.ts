/** A product of the catalog with its stock counters (all quantities are units, prices minor units). */
export interface ProductRow {
  product_id: string;
  sku: string | null;
  name: string;
  price: number;
  currency: string;
  on_hand: number;
  reserved: number;
  reorder_point: number;
  /** Stock the product was created with; with `restocked` and `shipped` it explains `on_hand`. */
  initial_stock: number;
  /** Sum of every adjustStock delta (restocks and corrections). */
  restocked: number;
  /** Sum of the quantities that left with shipments. */
  shipped: number;
  /** 1 when orders short of this product wait for a restock instead of being refused. */
  allow_backorders: number;
  /** Units of waiting backorders not yet reserved (sum of `quantity − allocated` of WAITING rows). */
  backordered: number;
  /** 1 while the product has an open low-stock alert (kept with the alert, under the product's row lock). */
  low_stock_alert_open: number;
  created_at: number;
  updated_at: number;
}

/** One order's reservation; its lines are in `inventory_reservation_lines`. */
export interface ReservationRow {
  order_id: string;
  status: string;
  /** Why a reservation failed (`insufficient_stock`, `unknown_product`); null otherwise. */
  reason: string | null;
  created_at: number;
  updated_at: number;
}

export interface ReservationLineRow {
  order_id: string;
  product_id: string;
  quantity: number;
}

/** Units an item edit adds to an order, held until the edit applies (moved onto the order) or ends (given back). */
export interface EditHoldRow {
  edit_id: string;
  order_id: string;
  /** held | applied | released | failed */
  status: string;
  /** JSON [{ productId, quantity }], product id order. */
  lines: string;
  created_at: number;
  updated_at: number;
}

/** A low-stock alert; at most one per product has `resolved_at` null. */
export interface AlertRow {
  alert_id: string;
  product_id: string;
  available: number;
  reorder_point: number;
  opened_at: number;
  resolved_at: number | null;
}

/**
 * The units of a product an order is short of: held for an admin's review (REVIEW), waiting for
 * a restock (WAITING, served first placed first served), FULFILLED or CANCELLED.
 */
export interface BackorderRow {
  order_id: string;
  product_id: string;
  /** Units the order was short of at placement. */
  quantity: number;
  /** Units reserved for it since, by restocks (a WAITING row is fulfilled when allocated = quantity). */
  allocated: number;
  status: string;
  /** Log position of the order's OrderPlaced: the queue's order. */
  placed_seq: number;
  /** The order's flow id: events about the backorder carry it, whatever command served it. */
  correlation_id: string;
  created_at: number;
  updated_at: number;
}

/** The tables the inventory module owns. */
export interface InventoryTables {
  inventory_products: ProductRow;
  inventory_reservations: ReservationRow;
  inventory_reservation_lines: ReservationLineRow;
  inventory_alerts: AlertRow;
  inventory_edit_holds: EditHoldRow;
  inventory_backorders: BackorderRow;
}
