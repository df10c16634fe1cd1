/**
 * What Grafana and the official ClickHouse plugin (grafana-clickhouse-datasource v4) do to a panel's
 * rawSql before ClickHouse sees it, so a test can run the very query a dashboard would send:
 *
 *   1. Grafana interpolates template variables: `${name}` and `$name` become the variable's value.
 *   2. The plugin expands its macros (pkg/macros/macros.go):
 *        $__timeFilter(c)   → c >= toDateTime(<from, unix s>) AND c <= toDateTime(<to, unix s>)
 *        $__timeInterval(c) → toStartOfInterval(toDateTime(c), INTERVAL <interval, whole s ≥ 1> second)
 *
 * Only the macros our dashboards use are expanded; anything else left starting with `$` fails the
 * expansion, so a dashboard cannot start using a macro this substitution does not reproduce.
 */
export interface PanelContext {
  fromMs: number;
  toMs: number;
  intervalSeconds: number;
  variables: Record<string, string>;
}

export function expandPanelSql(rawSql: string, ctx: PanelContext): string {
  const from = Math.floor(ctx.fromMs / 1000);
  const to = Math.floor(ctx.toMs / 1000);
  const interval = Math.max(Math.floor(ctx.intervalSeconds), 1);
  const sql = rawSql
    .replace(/\$\{(\w+)\}|\$(?!__)(\w+)/g, (whole, braced: string | undefined, bare: string | undefined) => {
      const name = (braced ?? bare)!;
      const value = ctx.variables[name];
      if (value === undefined) throw new Error(`dashboard SQL uses variable '${name}', which the test does not define: ${whole}`);
      return value;
    })
    .replace(/\$__timeFilter\(([^()]+)\)/g, (_, c: string) => `${c.trim()} >= toDateTime(${from}) AND ${c.trim()} <= toDateTime(${to})`)
    .replace(/\$__timeInterval\(([^()]+)\)/g, (_, c: string) => `toStartOfInterval(toDateTime(${c.trim()}), INTERVAL ${interval} second)`);
  const left = /\$\w+/.exec(sql);
  if (left) throw new Error(`dashboard SQL uses ${left[0]}, which expandPanelSql does not reproduce`);
  return sql;
}
