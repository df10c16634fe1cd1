/** A tool call turned down or cut short: the caller gets its message as a tool error. */
export class ToolError extends Error {}

/** The call ran past its deadline (MLWATCH_MCP_CALL_TIMEOUT_S). */
export class DeadlineError extends ToolError {}
