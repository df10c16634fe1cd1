export interface JsonRequest {
  method?: string;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as it is, for bodies JSON.stringify cannot produce. */
  raw?: string;
  headers?: Record<string, string>;
}

export interface JsonAnswer {
  status: number;
  headers: Headers;
  json: any;
}

/** A request as a JSON client sends it (POST when there is a body); the answer is read whatever its status, since tests assert on refusals too. */
export async function requestJson(url: string, init: JsonRequest = {}): Promise<JsonAnswer> {
  const hasBody = init.body !== undefined || init.raw !== undefined;
  const res = await fetch(url, {
    method: init.method ?? (hasBody ? "POST" : "GET"),
    headers: { ...(hasBody ? { "content-type": "application/json" } : {}), ...init.headers },
    body: init.raw ?? (hasBody ? JSON.stringify(init.body) : undefined),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : {} };
}

/** For setup steps that must work: a refusal fails the setup there, naming the route and what it answered. */
export async function postOk(url: string, body: unknown, headers: Record<string, string> = {}): Promise<any> {
  const res = await requestJson(url, { body, headers });
  if (res.status < 200 || res.status > 299) throw new Error(`${url} answered ${res.status}: ${JSON.stringify(res.json)}`);
  return res.json;
}
