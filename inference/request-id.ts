import { randomFillSync } from "node:crypto";

/**
 * Request ids are UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then random bits. Ids made
 * later sort later, so a batch of log rows arrives at ClickHouse almost in the order of the
 * predictions table's key (…, request_id, …): measured, sorting such a block at insert costs about
 * half of sorting random UUIDv4s, and it is the sort that bounds embedded ingest.
 */
const pool = Buffer.alloc(16 * 512);
let offset = pool.length;

export function newRequestId(nowMs: number = Date.now()): string {
  if (offset === pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const b = pool.subarray(offset, offset + 16);
  offset += 16;
  b.writeUIntBE(nowMs, 0, 6);
  b[6] = (b[6]! & 0x0f) | 0x70;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
