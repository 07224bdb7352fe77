// The API's response shapes the console reads (see /openapi.json for the full ones).

export const ORDER_STATUSES = ['PENDING', 'CONFIRMED', 'PAID', 'SHIPPED', 'DELIVERED', 'REJECTED', 'PAYMENT_FAILED', 'CANCELLED'] as const;
/** Statuses an order can still be cancelled from (SPEC §4: 409 once SHIPPED or terminal). */
export const CANCELLABLE = ['PENDING', 'CONFIRMED', 'PAID'];

export interface EventEnvelope {
  eventId: string;
  eventType: string;
  version: number;
  aggregateType: string;
  aggregateId: string;
  occurredAt: string;
  payload: Record<string, unknown>;
  correlationId: string;
  causationId: string | null;
  source: string;
  sequence: number;
}

export interface Order {
  orderId: string;
  orderNumber: string;
  customerId: string;
  status: string;
  items: { productId: string; name: string; quantity: number; unitPrice: number }[];
  totalAmount: number;
  currency: string;
  correlationId: string;
  sagaId: string;
  cancellationReason: string | null;
  rejectionReason: string | null;
  paymentFailureReason: string | null;
  shipmentId: string | null;
  trackingNumber: string | null;
  statusHistory: { status: string; at: string }[];
  /** The item edit under way (stock held, then the difference charged). */
  pendingEdit?: { editId: string; stage: 'stock' | 'payment'; items: { productId: string; name: string; quantity: number }[]; totalAmount: number; reason: string | null } | null;
  /** What the order waits for, product by product (backorders, and shortfalls held for review). */
  backorders?: { productId: string; quantity: number; allocated: number; status: 'REVIEW' | 'WAITING' | 'FULFILLED' | 'CANCELLED' }[];
  /** What an order held for a stock review is short of, and the admin's override once given. */
  stockReview?: {
    shortages: { productId: string; requested: number; available: number }[];
    heldAt: string;
    override: { reason: string; expectedRestockAt: string | null; approvedBy: string; at: string } | null;
  } | null;
  /** How the last item edit ended. */
  lastEdit?: { editId: string; outcome: 'applied' | 'rejected'; reason: string | null; at: string } | null;
  createdAt: string;
  updatedAt: string;
  shippingAddress: { street: string; city: string; postalCode: string; country: string };
  payment?: { paymentId: string; status: string; amount: number; currency: string; reason: string | null; refundedAt: string | null; refundedAmount?: number } | null;
  shipment?: { shipmentId: string; status: string; trackingNumber: string; dispatchedAt: string | null; deliveredAt: string | null } | null;
}

export interface OrderPage {
  orders: Order[];
  nextCursor: string | null;
}

export interface Stats {
  ordersPlaced: number;
  byStatus: Record<string, number>;
  asOfSequence: number;
}

export type Outcome = 'handled' | 'retrying' | 'dead-lettered' | 'discarded' | 'parked' | 'pending';

export interface TimelineEvent {
  sequence: number;
  eventId: string;
  eventType: string;
  occurredAt: string;
  source: string;
  causationId: string | null;
  payload: Record<string, unknown>;
  consumers: { consumer: string; outcome: Outcome; attempts: number; error?: string }[];
}

export interface Timeline {
  orderId: string;
  correlationId: string;
  /** The trace of the order's placement when tracing is on; `url` when OTEL_TRACE_URL is set. */
  trace: { traceId: string; url: string | null } | null;
  events: TimelineEvent[];
}

/** A return of delivered units (GET /orders/:id/returns); amounts in decimals. */
export interface Return {
  returnId: string;
  status: string;
  lines: { productId: string; quantity: number }[];
  amount: number;
  currency: string;
  reason: string | null;
  rejectionReason: string | null;
  restocked: boolean | null;
  refundedAmount: number | null;
  createdAt: string;
}

/** Who did what to an order (GET /orders/:id/audit). */
export interface AuditEntry {
  at: string;
  action: string;
  actor: { sub: string; role: 'admin' | 'customer' | 'system'; ip?: string; userAgent?: string };
  changes?: Record<string, unknown>;
  reason?: string;
  eventId: string;
}

export interface Saga {
  sagaId: string;
  orderId: string;
  state: string;
  steps: { name: string; status: string; at: string; detail?: string }[];
  compensations: { name: string; at: string; detail: string }[];
  pendingCompensations: string[];
  deadline: string;
  startedAt: string;
  completedAt: string | null;
  durationMs: number | null;
}

export interface Product {
  productId: string;
  sku: string | null;
  name: string;
  price: number;
  currency: string;
  onHand: number;
  reserved: number;
  available: number;
  reorderPoint: number;
}

export interface Alert {
  alertId: string;
  productId: string;
  available: number;
  reorderPoint: number;
  openedAt: string;
  resolvedAt: string | null;
  message: string;
}

export interface DeadLetter {
  id: string;
  consumer: string;
  eventId: string;
  eventType: string;
  aggregateId: string;
  status: 'retrying' | 'dead' | 'discarded';
  reason: string;
  attempts: number;
  error: string;
  history: { attempt: number; at: number; error: string; retryAt: number | null }[];
  firstFailedAt: string;
  lastFailedAt: string;
  nextAttemptAt: string | null;
  parkedCount: number;
}

export interface DeadLetterDetail extends DeadLetter {
  event: EventEnvelope | null;
  parked: { eventId: string; sequence: number }[];
}

export interface ThroughputSample {
  at: string;
  head: number;
  eventsPerSecond: number;
  ordersPerSecond: number;
  consumerLag: Record<string, number>;
  deadLetters: number;
  retrying: number;
}

export interface Throughput {
  intervalMs: number;
  windowMs: number;
  samples: ThroughputSample[];
}

/** A webhook endpoint (GET /webhooks): never its secret. */
export interface Webhook {
  webhookId: string;
  url: string;
  eventTypes: string[];
  description: string;
  enabled: boolean;
  disabledReason: string | null;
  consecutiveFailures: number;
  previousSecretExpiresAt: string | null;
  createdAt: string;
  updatedAt: string;
}

/** One delivery of an event to an endpoint (GET /webhooks/:id/deliveries). */
export interface WebhookDelivery {
  deliveryId: string;
  eventId: string;
  eventType: string;
  lane: string;
  status: 'pending' | 'retrying' | 'delivered' | 'dead';
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  lastResponse: string | null;
  lastDurationMs: number | null;
  lastAttemptAt: string | null;
  nextAttemptAt: string | null;
  deliveredAt: string | null;
  createdAt: string;
}
