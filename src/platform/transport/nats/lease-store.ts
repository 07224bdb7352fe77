import { sql, type Kysely } from 'kysely';
import type { DialectName } from '../../storage/database.js';
import type { NatsTransportTables } from './migrations.js';

/** A lease row as read: who holds the partition, until when (database time, epoch ms). */
export interface LeaseRow {
  consumer: string;
  partition: number;
  owner: string | null;
  expires_at: number;
}

/**
 * The SQL of partition leases. Times are the database's clock on PostgreSQL, so processes on
 * machines whose clocks differ still agree on when a lease ran out; SQLite has one process.
 */
export function createLeaseStore(db: Kysely<NatsTransportTables>, dialect: DialectName) {
  return {
    async now(): Promise<number> {
      if (dialect !== 'postgres') return Date.now();
      const { rows } = await sql<{ now: number }>`select (extract(epoch from clock_timestamp()) * 1000)::bigint as now`.execute(db);
      return Number(rows[0]!.now);
    },

    /** Creates the free lease rows of every (consumer, partition) that has none. */
    async ensure(consumers: readonly string[], partitions: number): Promise<void> {
      const rows = consumers.flatMap((consumer) => Array.from({ length: partitions }, (_, partition) => ({ consumer, partition, owner: null, expires_at: 0 })));
      for (let i = 0; i < rows.length; i += 500) {
        await db
          .insertInto('transport_leases')
          .values(rows.slice(i, i + 500))
          .onConflict((oc) => oc.columns(['consumer', 'partition']).doNothing())
          .execute();
      }
    },

    /** Says this process runs these consumers until `now + ttl`; forgets members long gone. */
    async heartbeat(consumers: readonly string[], owner: string, now: number, ttlMs: number): Promise<void> {
      if (consumers.length === 0) return;
      await db
        .insertInto('transport_members')
        .values(consumers.map((consumer) => ({ consumer, owner, expires_at: now + ttlMs })))
        .onConflict((oc) => oc.columns(['consumer', 'owner']).doUpdateSet({ expires_at: now + ttlMs }))
        .execute();
      await db.deleteFrom('transport_members').where('expires_at', '<', now - 10 * ttlMs).execute();
    },

    /** Live members per consumer. */
    async liveMembers(now: number): Promise<Map<string, number>> {
      const rows = await db
        .selectFrom('transport_members')
        .select(['consumer', (eb) => eb.fn.countAll<number>().as('n')])
        .where('expires_at', '>', now)
        .groupBy('consumer')
        .execute();
      return new Map(rows.map((r) => [r.consumer, Number(r.n)]));
    },

    /** Extends the leases `owner` still holds; returns them. A lease that ran out is not renewed. */
    async renew(owner: string, now: number, ttlMs: number): Promise<{ consumer: string; partition: number }[]> {
      return db
        .updateTable('transport_leases')
        .set({ expires_at: now + ttlMs })
        .where('owner', '=', owner)
        .where('expires_at', '>', now)
        .returning(['consumer', 'partition'])
        .execute();
    },

    /** Partitions of `consumer` that are free: released, or whose owner stopped renewing. */
    async claimable(consumer: string, now: number): Promise<LeaseRow[]> {
      const rows = await db
        .selectFrom('transport_leases')
        .selectAll()
        .where('consumer', '=', consumer)
        .where((eb) => eb.or([eb('owner', 'is', null), eb('expires_at', '<=', now)]))
        .orderBy('partition')
        .execute();
      return rows.map((r) => ({ ...r, expires_at: Number(r.expires_at) }));
    },

    /** Takes a free lease if it is still as read (compare and set); false when someone was faster. */
    async claim(row: LeaseRow, owner: string, now: number, ttlMs: number): Promise<boolean> {
      let q = db.updateTable('transport_leases').set({ owner, expires_at: now + ttlMs }).where('consumer', '=', row.consumer).where('partition', '=', row.partition);
      q = row.owner === null ? q.where('owner', 'is', null) : q.where('owner', '=', row.owner).where('expires_at', '=', row.expires_at);
      const result = await q.executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async release(consumer: string, partition: number, owner: string): Promise<void> {
      await db.updateTable('transport_leases').set({ owner: null, expires_at: 0 }).where('consumer', '=', consumer).where('partition', '=', partition).where('owner', '=', owner).execute();
    },

    /** Forgets this process as a member of every consumer. */
    async leave(owner: string): Promise<void> {
      await db.deleteFrom('transport_members').where('owner', '=', owner).execute();
    },
  };
}

export type LeaseStore = ReturnType<typeof createLeaseStore>;
