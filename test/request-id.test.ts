import { describe, expect, it } from "vitest";
import { newRequestId } from "../inference/request-id.ts";

describe("request ids", () => {
  it("are RFC 9562 version-7 UUIDs carrying the millisecond they were made", () => {
    const ms = Date.UTC(2026, 10, 23, 13, 0, 0, 123);
    const id = newRequestId(ms);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(parseInt(id.replaceAll("-", "").slice(0, 12), 16)).toBe(ms);
  });

  it("sort by time and do not repeat", () => {
    const ids = Array.from({ length: 20_000 }, (_, i) => newRequestId(1_700_000_000_000 + Math.floor(i / 100)));
    expect(new Set(ids).size).toBe(ids.length);
    for (let i = 100; i < ids.length; i += 100) expect(ids[i - 1]! < ids[i]!).toBe(true);
  });
});
