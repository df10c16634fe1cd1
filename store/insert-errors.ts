/**
 * ClickHouse error codes that mean "these rows cannot be stored as they are" (their text or their
 * types), as opposed to a store that is unreachable, overloaded or failing: sending the same bytes
 * again can never succeed, so a writer must set such rows aside rather than retry them forever.
 */
const REJECTED_DATA_CODES = new Set([
  6, // CANNOT_PARSE_TEXT
  25, // CANNOT_PARSE_ESCAPE_SEQUENCE
  26, // CANNOT_PARSE_QUOTED_STRING
  27, // CANNOT_PARSE_INPUT_ASSERTION_FAILED
  38, // CANNOT_PARSE_DATE
  41, // CANNOT_PARSE_DATETIME
  53, // TYPE_MISMATCH
  69, // ARGUMENT_OUT_OF_BOUND
  70, // CANNOT_CONVERT_TYPE
  72, // CANNOT_PARSE_NUMBER
  117, // INCORRECT_DATA
  131, // TOO_LARGE_STRING_SIZE
  190, // SIZES_OF_ARRAYS_DONT_MATCH
  349, // CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN
]);

/** chDB puts the code in the message ("Code: 25. DB::Exception: …"); @clickhouse/client in `.code`. */
export function isRejectedData(err: unknown): boolean {
  const message = err instanceof Error ? err.message : String(err);
  const fromMessage = /Code: (\d+)\./.exec(message)?.[1];
  const code = Number(fromMessage ?? (err as { code?: unknown } | null)?.code);
  return REJECTED_DATA_CODES.has(code);
}
