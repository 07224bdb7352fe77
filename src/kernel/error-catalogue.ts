/** What went wrong, in terms the HTTP layer maps to a status. */
export type ErrorKind = 'validation' | 'not_found' | 'conflict' | 'forbidden' | 'unauthorized' | 'unavailable' | 'internal';

/** One error code: what it means and what to do, defined once (as Fastify's `lib/errors.js` does). */
export interface ErrorDefinition {
  readonly kind: ErrorKind;
  /** The HTTP status of a response with this code; `internal` codes are answered as INTERNAL (500). */
  readonly status: number;
  /** A short summary of the problem type: the `title` of its problem details. */
  readonly title: string;
  /** What the caller (or the operator) does about it. */
  readonly action: string;
  /** Whether an HTTP response can carry this code; the others end a command, a start-up or a delivery (logs, dead letters). */
  readonly api: boolean;
}

const api = <K extends ErrorKind>(kind: K, status: number, title: string, action: string) => ({ kind, status, title, action, api: true });
const process = <K extends ErrorKind>(kind: K, status: number, title: string, action: string) => ({ kind, status, title, action, api: false });

const FIX_THE_BODY = 'Correct the request as `detail` says and send it again.';

/**
 * Every error code of orderflow. `AppError` takes only these codes, with their kind, so a code
 * cannot mean two things; the API's problem details, `/problems/<code>`, the OpenAPI document
 * and the README's table all come from here.
 */
export const ERROR_CATALOGUE = {
  // The request itself
  VALIDATION_FAILED: api('validation', 400, 'The request does not match the API schema', 'Correct the fields listed in `errors` (the route’s schema is in /docs) and send it again.'),
  MALFORMED_JSON: api('validation', 400, 'The body is not valid JSON', 'Send a JSON body (and content-type application/json).'),
  BAD_CONTENT_LENGTH: api('validation', 400, 'Content-Length does not match the body', 'Let the HTTP client compute Content-Length.'),
  BAD_REQUEST: api('validation', 400, 'The request is malformed', 'Check the method, URL and headers against /docs.'),
  BODY_TOO_LARGE: api('validation', 413, 'The body is over 64 KiB', 'Send a smaller body: at most 100 order lines.'),
  UNSUPPORTED_MEDIA_TYPE: api('validation', 415, 'The body is not JSON', 'Send JSON with content-type application/json.'),
  ROUTE_NOT_FOUND: api('not_found', 404, 'No such route', 'Check the method and path against /docs.'),
  // Who is calling
  UNAUTHENTICATED: api('unauthorized', 401, 'No token', 'Send `Authorization: Bearer <token>`; `orderflow token` mints one.'),
  TOKEN_INVALID: api('unauthorized', 401, 'The token is not valid', 'Send a token signed with this server’s JWT_SECRET (`orderflow token`), HS256, with sub, role and exp.'),
  TOKEN_EXPIRED: api('unauthorized', 401, 'The token has expired', 'Mint a new token (`orderflow token`).'),
  ADMIN_ONLY: api('forbidden', 403, 'This route is for admins', 'Call it with an admin token.'),
  CUSTOMER_MISMATCH: api('forbidden', 403, 'A customer acts only for itself', 'Leave customerId out (it comes from the token) or send your own.'),
  RATE_LIMITED: api('unavailable', 429, 'Too many orders from this caller', 'Wait the seconds in Retry-After; ORDER_RATE_LIMIT sets the limit per minute.'),
  // Resources
  ORDER_NOT_FOUND: api('not_found', 404, 'No such order', 'Check the order id; a customer sees only its own orders.'),
  PRODUCT_NOT_FOUND: api('not_found', 404, 'No such product', 'Check the product id (GET /products lists them).'),
  SAGA_NOT_FOUND: api('not_found', 404, 'No such saga', 'Check the saga id (an order’s sagaId).'),
  SHIPMENT_NOT_FOUND: api('not_found', 404, 'No such shipment', 'Check the shipment id (an order’s shipment).'),
  EVENT_NOT_FOUND: api('not_found', 404, 'No such event', 'Check the event id (GET /api/events lists them).'),
  DEAD_LETTER_NOT_FOUND: api('not_found', 404, 'No such dead letter', 'Check the id (GET /api/dead-letters lists them).'),
  CONSUMER_NOT_FOUND: api('not_found', 404, 'No such consumer in this process', 'Re-drive it where its module runs (MODULES), or from `orderflow dlq`.'),
  // Orders
  INVALID_ORDER: api('validation', 422, 'The order is invalid', FIX_THE_BODY),
  NO_ITEMS: api('validation', 422, 'The order has no items', 'Send at least one item.'),
  BAD_QUANTITY: api('validation', 422, 'A quantity is not valid', 'Send whole quantities from 1 to 1000.'),
  UNKNOWN_PRODUCT: api('validation', 422, 'A product is not in the catalog', 'Order products that GET /products lists.'),
  PRICE_MISMATCH: api('validation', 422, 'A unit price differs from the catalog', 'Send the catalog prices (in `mismatches`), or leave unitPrice out.'),
  TOTAL_MISMATCH: api('validation', 422, 'The total differs from the catalog', 'Send the catalog total (`expected`), or leave totalAmount out.'),
  CURRENCY_MISMATCH: api('validation', 422, 'The currency differs from the catalog', 'Send the currency of the products ordered, or leave it out.'),
  MIXED_CURRENCY: api('validation', 422, 'The order mixes currencies', 'Place one order per currency.'),
  AMOUNT_TOO_LARGE: api('validation', 422, 'An amount is too large', 'Split the order.'),
  BAD_AMOUNT: api('validation', 422, 'An amount is not valid', 'Send amounts ≥ 0 with at most the currency’s decimals (99.99 USD).'),
  CUSTOMER_ID_REQUIRED: api('validation', 422, 'customerId is required', 'An admin places an order for a customer: send customerId.'),
  INVALID_CANCEL: api('validation', 422, 'The cancellation is invalid', FIX_THE_BODY),
  INVALID_STATUS: api('validation', 422, 'Unknown order status', 'Filter by one of PENDING, CONFIRMED, PAID, SHIPPED, DELIVERED, REJECTED, PAYMENT_FAILED, CANCELLED.'),
  INVALID_CURSOR: api('validation', 422, 'The cursor is not one this API returned', 'Send the nextCursor of the previous page as it was, or no cursor for the first page.'),
  INVALID_LIMIT: api('validation', 422, 'The page size is out of range', 'Send a limit within the range `detail` gives.'),
  ORDER_NOT_CANCELLABLE: api('conflict', 409, 'The order can no longer be cancelled', 'Nothing to do: once SHIPPED or final an order stays as it is.'),
  ORDER_NOT_EDITABLE: api('conflict', 409, 'The order can no longer be edited', 'Nothing to do: the shipping address changes until the shipment is dispatched, the items once the order is PAID and until then; a final order stays as it is.'),
  EDIT_IN_PROGRESS: api('conflict', 409, 'Another item edit of the order is under way', 'Wait until the order\u2019s pendingEdit is gone (lastEdit says how it ended), GET the order and send the edit again with its new ETag.'),
  ORDER_CHANGED: api('conflict', 409, 'The order changed since it was read', 'GET the order again and send the edit with its new ETag in If-Match, if it still applies.'),
  ORDER_VERSION_REQUIRED: api('validation', 428, 'An edit must name the version of the order it is based on', 'Send If-Match with the ETag of GET /orders/:id.'),
  RETURN_NOT_FOUND: api('not_found', 404, 'No such return', 'Check the return id; a customer sees only the returns of its own orders.'),
  RETURN_NOT_ALLOWED: api('conflict', 409, 'The order takes no returns', 'Only a DELIVERED order takes returns; GET the order to see its status.'),
  RETURN_WINDOW_CLOSED: api('conflict', 409, 'The return window has closed', 'Nothing to do through the API: returns are taken within RETURN_WINDOW_DAYS of delivery (`closedAt`).'),
  RETURN_TOO_LARGE: api('validation', 422, 'The return asks for units that cannot be returned', 'Return only products of the order, each on one line, and no more units than ordered minus earlier returns (`details`).'),
  RETURN_NOT_PENDING: api('conflict', 409, 'The return is not at the step this applies to', 'Approve or reject a REQUESTED return, receive an APPROVED one; GET the return to see its status.'),
  INVALID_EDIT: api('validation', 422, 'The edit is malformed or changes nothing', 'Send shippingAddress, items (the order\u2019s new lines) or both, and a reason if you like; `detail` names the field.'),
  INVALID_OVERRIDE: api('validation', 422, 'The stock override is invalid', 'Send a non-empty reason, and expectedRestockAt as an ISO-8601 date if you know it.'),
  ORDER_NOT_SHORT: api('conflict', 409, 'The order is not held for a stock review', 'Nothing to override: only an order short of stock and held for review (InventoryReservationShort) takes an override; GET the order to see its backorders.'),
  ORDER_NOT_WAITING: api('conflict', 409, 'The order no longer waits for a decision', 'Nothing to do: the order is no longer PENDING (rejected when its review window closed, cancelled, or already confirmed).'),
  IDEMPOTENCY_KEY_REUSED: api('validation', 422, 'This Idempotency-Key was used for a different request', 'Send a new key for a new request; repeat a request with the same key and the same body.'),
  IDEMPOTENCY_IN_PROGRESS: api('conflict', 409, 'The first request with this Idempotency-Key is still running', 'Retry shortly: you will get its answer.'),
  // Products and stock
  BAD_PRODUCT: api('validation', 422, 'The product is invalid', FIX_THE_BODY),
  BAD_PRODUCTID: api('validation', 422, 'productId is not valid', 'Send a non-empty productId of at most 200 characters.'),
  BAD_SKU: api('validation', 422, 'sku is not valid', 'Send a non-empty sku of at most 200 characters, or none.'),
  BAD_NAME: api('validation', 422, 'name is not valid', 'Send a non-empty name of at most 500 characters.'),
  BAD_PRICE: api('validation', 422, 'price is not valid', 'Send a price ≥ 0 with at most the currency’s decimals.'),
  BAD_CURRENCY: api('validation', 422, 'currency is not valid', 'Send an ISO 4217 code such as USD.'),
  BAD_STOCK: api('validation', 422, 'stock is not valid', 'Send a whole number of units ≥ 0.'),
  BAD_REORDERPOINT: api('validation', 422, 'reorderPoint is not valid', 'Send a whole number of units ≥ 0.'),
  BAD_ALLOW_BACKORDERS: api('validation', 422, 'allowBackorders is not valid', 'Send true or false.'),
  DUPLICATE_PRODUCT: api('validation', 422, 'A product appears twice', 'Send each product once.'),
  PRODUCT_EXISTS: api('conflict', 409, 'The product exists', 'Use another productId, or change the existing product’s stock.'),
  BAD_DELTA: api('validation', 422, 'The stock change is not valid', 'Send a non-zero whole delta that keeps units on hand within range.'),
  BAD_REASON: api('validation', 422, 'The reason is not valid', 'Send a short non-empty reason.'),
  INSUFFICIENT_STOCK: api('conflict', 409, 'Not enough stock for this change', 'Remove at most the units on hand that are not reserved.'),
  // Shipments
  SHIPMENT_NOT_DISPATCHABLE: api('conflict', 409, 'The shipment cannot be dispatched', 'Only a CREATED shipment is dispatched; GET the shipment to see its status.'),
  SHIPMENT_NOT_DELIVERABLE: api('conflict', 409, 'The shipment cannot be delivered', 'Only a DISPATCHED shipment is delivered; GET the shipment to see its status.'),
  // Webhooks
  WEBHOOK_NOT_FOUND: api('not_found', 404, 'No such webhook endpoint', 'Check the id (GET /webhooks lists them).'),
  WEBHOOK_DELIVERY_NOT_FOUND: api('not_found', 404, 'No such delivery of this webhook endpoint', 'Check the delivery id (GET /webhooks/:id/deliveries lists them).'),
  WEBHOOK_URL_REFUSED: api('validation', 422, 'The webhook URL is refused', 'Send an https:// URL whose host resolves to public addresses; WEBHOOK_ALLOW_HTTP and WEBHOOK_ALLOW_PRIVATE relax this for development.'),
  WEBHOOK_EVENT_TYPE_UNKNOWN: api('validation', 422, 'An event type is not in the catalog', 'Subscribe to event types the catalog has (GET /webhooks/event-types lists them).'),
  // Operations
  DEAD_LETTER_NOT_OPEN: api('conflict', 409, 'The dead letter is not open', 'Only a dead letter still open can be retried or discarded.'),
  NOT_READY: api('unavailable', 503, 'A dependency does not answer', 'Retry after Retry-After; `dependencies` names the failing one.'),
  STORAGE_UNAVAILABLE: api('unavailable', 503, 'The database is not reachable', 'Retry shortly. Operators: check the database, and DATABASE_URL.'),
  STORAGE_FULL: api('unavailable', 503, 'The disk of the database is full', 'Retry later. Operators: free space on the database’s disk; work resumes on its own, nothing was half-written.'),
  INTERNAL: api('internal', 500, 'Unexpected error', 'Retry later; the server logged the cause with the request’s correlation id.'),
  // A process: start-up, commands, deliveries
  BAD_CONFIG: process('validation', 500, 'A setting is invalid', 'Set each variable named to a value it accepts (README, Configuration).'),
  BAD_DATABASE_URL: process('validation', 500, 'DATABASE_URL is invalid', 'Set DATABASE_URL to sqlite:<path> or postgres://user@host:port/db.'),
  JWT_SECRET_REQUIRED: process('validation', 500, 'JWT_SECRET is not set', 'Set JWT_SECRET (at least 32 characters), the same in every process.'),
  BAD_JWT_SECRET_FILE: process('validation', 500, 'The embedded secret file is invalid', 'Remove the jwt-secret file beside the database (a new one is made), or set JWT_SECRET.'),
  JWT_SECRET_UNREADABLE: process('unavailable', 500, 'The embedded secret file cannot be read', 'Fix the file’s permissions, or set JWT_SECRET.'),
  CANNOT_LISTEN: process('unavailable', 500, 'The API cannot listen', 'Free the port or set PORT; set HOST to an address of this machine.'),
  NATS_UNAVAILABLE: process('unavailable', 503, 'NATS is not reachable', 'Start NATS with JetStream, or set NATS_URL to one that answers.'),
  NATS_PARTITIONS_CHANGED: process('internal', 500, 'NATS_PARTITIONS differs from the stream’s', 'Keep NATS_PARTITIONS as the stream was made, or use a new NATS_STREAM.'),
  MIGRATION_FAILED: process('internal', 500, 'A database migration failed', 'Read the cause in the log, fix it, and run `orderflow migrate`.'),
  BAD_SAGA_TIMEOUT: process('validation', 500, 'SAGA_TIMEOUT_MS is invalid', 'Set SAGA_TIMEOUT_MS to a positive number of milliseconds.'),
  BAD_PAYMENT_LATENCY: process('validation', 500, 'PAYMENT_LATENCY_MS is invalid', 'Set PAYMENT_LATENCY_MS to 0..60000.'),
  BAD_PAYMENT_SUCCESS_RATE: process('validation', 500, 'PAYMENT_SUCCESS_RATE is invalid', 'Set PAYMENT_SUCCESS_RATE to a number from 0 to 1.'),
  EVENT_MISSING: process('internal', 500, 'An event the log should hold is missing', 'A defect: report it with the log lines.'),
  ORDER_PAID_INCOMPLETE: process('validation', 500, 'OrderPaid lacks what a shipment needs', 'A dead letter: fix the producer, then re-drive or discard it.'),
  SHIPMENT_CHANGED_CONCURRENTLY: process('conflict', 500, 'The shipment changed meanwhile', 'None: the delivery is retried.'),
  PAYMENT_CHANGED_CONCURRENTLY: process('conflict', 500, 'The payment changed meanwhile', 'None: the delivery is retried.'),
  REFUND_DECLINED: process('internal', 500, 'The gateway declined a refund', 'A dead letter: check the gateway, then re-drive it.'),
  UNKNOWN_ORDER_STATUS: process('internal', 500, 'A stored order has an unknown status', 'A defect: report it with the order id.'),
} as const satisfies Record<string, ErrorDefinition>;

/** A code of the catalogue. */
export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** The kind a code is defined with. */
export type KindOf<C extends ErrorCode> = (typeof ERROR_CATALOGUE)[C]['kind'];

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CATALOGUE, code);
}
