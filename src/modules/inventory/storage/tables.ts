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

/** The tables the inventory module owns. */
export interface InventoryTables {
  inventory_products: ProductRow;
  inventory_reservations: ReservationRow;
  inventory_reservation_lines: ReservationLineRow;
  inventory_alerts: AlertRow;
  inventory_edit_holds: EditHoldRow;
}
