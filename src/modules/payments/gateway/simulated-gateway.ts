import { sql, type Kysely } from 'kysely';
import type { Random } from '../../../kernel/clock.js';
import { rowStatement, statement } from '../../../platform/storage/statements.js';
import { AppError } from '../../../kernel/errors.js';
import type { IdGenerator } from '../../../kernel/ids.js';
import type { SchemaMigration } from '../../../platform/storage/migrations.js';
import { columnTypes } from '../../../platform/storage/migrations.js';
import { cardOutcome } from './card-outcomes.js';

/** One request the gateway received, as it recorded it: the answer to every repeat of its key. */
export interface GatewayRecordRow {
  idempotency_key: string;
  operation: 'charge' | 'refund';
  /** The caller's reference (the order id), like Stripe's metadata. */
  reference: string;
  /** Refunds: the idempotency key of the charge refunded. */
  charge_key: string | null;
  amount: number;
  currency: string;
  token: string | null;
  outcome: 'succeeded' | 'declined' | 'no_answer';
  decline_reason: string | null;
  /** The gateway's id of the charge (`ch_…`) or refund (`re_…`). */
  gateway_id: string;
  created_at: number;
}

export interface GatewayTables {
  payment_gateway_charges: GatewayRecordRow;
}

export const gatewayMigrations: SchemaMigration[] = [
  {
    name: 'payments/0002-gateway-charges',
    async up(db, dialect) {
      const t = columnTypes(dialect);
      await db.schema
        .createTable('payment_gateway_charges')
        .addColumn('idempotency_key', 'text', (c) => c.primaryKey())
        .addColumn('operation', 'text', (c) => c.notNull())
        .addColumn('reference', 'text', (c) => c.notNull())
        .addColumn('charge_key', 'text')
        .addColumn('amount', t.bigint, (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('token', 'text')
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('decline_reason', 'text')
        .addColumn('gateway_id', 'text', (c) => c.notNull())
        .addColumn('created_at', t.bigint, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('payment_gateway_charges_reference').on('payment_gateway_charges').columns(['reference', 'operation']).execute();
      await db.schema.createIndex('payment_gateway_charges_charge').on('payment_gateway_charges').column('charge_key').execute();
    },
  },
];

export interface ChargeRequest {
  idempotencyKey: string;
  /** Integer minor units. */
  amount: number;
  currency: string;
  token: string | null;
  /** What the charge is for (the order id). */
  reference: string;
}

export interface RefundRequest {
  idempotencyKey: string;
  /** The idempotency key of the charge to refund. */
  chargeKey: string;
  amount: number;
  reference: string;
}

/** The gateway's answer: a charge succeeded or was declined, or no answer came. */
export type ChargeResult =
  | { status: 'succeeded'; chargeId: string }
  | { status: 'declined'; chargeId: string; reason: string }
  | { status: 'no_answer' };

export type RefundResult = { status: 'succeeded'; refundId: string } | { status: 'declined'; refundId: string; reason: string };

/**
 * Where a gateway call runs: the caller's open transaction (typed with the caller's tables,
 * which include the gateway's) and its time.
 */
export interface GatewayCall<DB extends GatewayTables = GatewayTables> {
  readonly db: Kysely<DB>;
  readonly now: number;
}

/** A simulated card gateway with idempotency keys: a repeated key returns the first answer. */
export interface PaymentGateway {
  charge<DB extends GatewayTables>(call: GatewayCall<DB>, request: ChargeRequest): Promise<ChargeResult>;
  refund<DB extends GatewayTables>(call: GatewayCall<DB>, request: RefundRequest): Promise<RefundResult>;
  /** How many `operation`s with this reference succeeded (money that actually moved). */
  countSucceeded<DB extends GatewayTables>(db: Kysely<DB>, reference: string, operation: 'charge' | 'refund'): Promise<number>;
  /** What the succeeded refunds of a charge (its idempotency key) add up to, in minor units. */
  refundedTotal<DB extends GatewayTables>(db: Kysely<DB>, chargeKey: string): Promise<number>;
  /** The succeeded charges with this reference, oldest first, each with what is left to refund of it. */
  chargesOf<DB extends GatewayTables>(db: Kysely<DB>, reference: string): Promise<{ idempotencyKey: string; amount: number; refunded: number }[]>;
}

export interface SimulatedGatewayOptions {
  successRate: number;
  random: Random;
  ids: IdGenerator;
}

type NewRecord = Omit<GatewayRecordRow, 'idempotency_key' | 'created_at' | 'gateway_id'>;

/**
 * The gateway of SPEC §2. It writes through the caller's transaction (the engine's SQLite
 * connection is not shared between transactions), so a rolled-back handler leaves no record.
 */
export function createSimulatedGateway(options: SimulatedGatewayOptions): PaymentGateway {
  const { successRate, random, ids } = options;

  /** The record of `key`, recording `fresh()` first when the key is new; a race is won by the first insert. */
  async function once(call: GatewayCall, key: string, prefix: string, fresh: () => Promise<NewRecord>): Promise<GatewayRecordRow> {
    const seen = await find(call.db, key);
    if (seen) return seen;
    const row: GatewayRecordRow = { idempotency_key: key, gateway_id: `${prefix}_${ids.next()}`, created_at: call.now, ...(await fresh()) };
    // The row as stored; none when a concurrent call with the same key stored its own first.
    const [stored] = await insertRecord(call.db, row);
    return stored ?? (await find(call.db, key))!;
  }

  function sameRequest(row: GatewayRecordRow, expected: Partial<GatewayRecordRow>): void {
    const differs = Object.entries(expected).filter(([field, value]) => row[field as keyof GatewayRecordRow] !== value);
    if (differs.length > 0) {
      throw new AppError('validation', 'IDEMPOTENCY_KEY_REUSED', `idempotency key ${row.idempotency_key} was used for a different request (${differs.map(([f]) => f).join(', ')})`);
    }
  }

  return {
    async charge(caller, request) {
      const call = own(caller);
      const asked = { operation: 'charge' as const, reference: request.reference, amount: request.amount, currency: request.currency, token: request.token };
      const row = await once(call, request.idempotencyKey, 'ch', async () => {
        const decided = cardOutcome(request.token, successRate, random);
        return { ...asked, charge_key: null, outcome: decided.outcome, decline_reason: decided.outcome === 'declined' ? decided.reason : null };
      });
      sameRequest(row, asked);
      if (row.outcome === 'no_answer') return { status: 'no_answer' };
      if (row.outcome === 'declined') return { status: 'declined', chargeId: row.gateway_id, reason: row.decline_reason ?? 'card_declined' };
      return { status: 'succeeded', chargeId: row.gateway_id };
    },

    async refund(caller, request) {
      const call = own(caller);
      const asked = { operation: 'refund' as const, reference: request.reference, charge_key: request.chargeKey, amount: request.amount };
      const row = await once(call, request.idempotencyKey, 're', async () => {
        const reason = await refundRefusal(call.db, request);
        const charged = await find(call.db, request.chargeKey);
        return { ...asked, currency: charged?.currency ?? 'XXX', token: null, outcome: reason ? 'declined' : 'succeeded', decline_reason: reason };
      });
      sameRequest(row, asked);
      if (row.outcome === 'succeeded') return { status: 'succeeded', refundId: row.gateway_id };
      return { status: 'declined', refundId: row.gateway_id, reason: row.decline_reason ?? 'refund_declined' };
    },

    refundedTotal: (db, chargeKey) => refundedOf(db as unknown as Kysely<GatewayTables>, chargeKey),

    async chargesOf(db, reference) {
      const own = db as unknown as Kysely<GatewayTables>;
      // Each charge with what its succeeded refunds add up to, in one statement.
      const charges = await own
        .selectFrom('payment_gateway_charges as c')
        .select([
          'c.idempotency_key',
          'c.amount',
          sql<number | string | null>`(select sum(r.amount) from payment_gateway_charges r where r.charge_key = c.idempotency_key and r.operation = 'refund' and r.outcome = 'succeeded')`.as('refunded'),
        ])
        .where('c.reference', '=', reference)
        .where('c.operation', '=', 'charge')
        .where('c.outcome', '=', 'succeeded')
        .orderBy('c.created_at')
        .orderBy('c.idempotency_key')
        .execute();
      return charges.map((c) => ({ idempotencyKey: c.idempotency_key, amount: Number(c.amount), refunded: Number(c.refunded ?? 0) }));
    },

    async countSucceeded(db, reference, operation) {
      const row = await (db as unknown as Kysely<GatewayTables>)
        .selectFrom('payment_gateway_charges')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where('reference', '=', reference)
        .where('operation', '=', operation)
        .where('outcome', '=', 'succeeded')
        .executeTakeFirst();
      return Number(row?.n ?? 0);
    },
  };
}

/** The gateway sees only its own tables of the caller's database. */
function own<DB extends GatewayTables>(call: GatewayCall<DB>): GatewayCall {
  return { db: call.db as unknown as Kysely<GatewayTables>, now: call.now };
}

// Every charge looks its key up and records it: statements written once.
const RECORD_COLUMNS = [
  'idempotency_key', 'operation', 'reference', 'charge_key', 'amount', 'currency', 'token', 'outcome', 'decline_reason', 'gateway_id', 'created_at',
] as const satisfies readonly (keyof GatewayRecordRow)[];
const everyRecordColumn: Exclude<keyof GatewayRecordRow, (typeof RECORD_COLUMNS)[number]> extends never ? true : never = true;
void everyRecordColumn;
const insertRecord = rowStatement<GatewayRecordRow, GatewayRecordRow>('payment_gateway_charges', RECORD_COLUMNS, 'on conflict (idempotency_key) do nothing returning *');
const selectRecord = statement<GatewayRecordRow>('select * from payment_gateway_charges where idempotency_key = ?');

async function find(db: Kysely<GatewayTables>, key: string): Promise<GatewayRecordRow | undefined> {
  const [row] = await selectRecord(db, [key]);
  return row;
}

/**
 * Why the gateway refuses a refund: an unknown or failed charge, a charge refunded in full
 * already, or more than what is left of it (refunds of one charge add up to its amount at most).
 */
async function refundRefusal(db: Kysely<GatewayTables>, request: RefundRequest): Promise<string | null> {
  const charge = await find(db, request.chargeKey);
  if (!charge || charge.operation !== 'charge') return 'charge_not_found';
  if (charge.outcome !== 'succeeded') return 'charge_not_succeeded';
  if (request.amount <= 0) return 'amount_invalid';
  const refunded = await refundedOf(db, request.chargeKey);
  if (refunded >= Number(charge.amount)) return 'charge_already_refunded';
  return refunded + request.amount > Number(charge.amount) ? 'amount_too_large' : null;
}

/** What the succeeded refunds of a charge add up to. */
async function refundedOf(db: Kysely<GatewayTables>, chargeKey: string): Promise<number> {
  const row = await db
    .selectFrom('payment_gateway_charges')
    .select((eb) => eb.fn.sum<number | string | null>('amount').as('total'))
    .where('charge_key', '=', chargeKey)
    .where('operation', '=', 'refund')
    .where('outcome', '=', 'succeeded')
    .executeTakeFirst();
  return Number(row?.total ?? 0);
}
