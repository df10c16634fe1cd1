import http from "node:http";
import type { AddressInfo } from "node:net";

/** The request body the `ollama` client posts to /api/chat. */
export interface ChatRequestBody {
  model: string;
  messages: { role: string; content: string }[];
  stream?: boolean;
  format?: unknown;
  options?: Record<string, unknown>;
  tools?: unknown[];
}

export interface OllamaStub {
  /** http://127.0.0.1:<port>, for `new Ollama({ host })`. */
  url: string;
  /** Every /api/chat request received, in order. */
  requests: ChatRequestBody[];
  close(): Promise<void>;
}

/**
 * A loopback server speaking Ollama's non-streaming /api/chat: each request gets the next answer
 * (the last one repeats), wrapped the way Ollama wraps it. An answer may depend on the request.
 */
export async function startOllamaStub(answers: (string | ((req: ChatRequestBody) => string))[]): Promise<OllamaStub> {
  const requests: ChatRequestBody[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (req.method !== "POST" || req.url !== "/api/chat") {
        res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: `stub serves POST /api/chat only, got ${req.method} ${req.url}` }));
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as ChatRequestBody;
      requests.push(body);
      const answer = answers[Math.min(requests.length - 1, answers.length - 1)]!;
      const content = typeof answer === "function" ? answer(body) : answer;
      res.writeHead(200, { "content-type": "application/json" }).end(
        JSON.stringify({
          model: body.model,
          created_at: new Date().toISOString(),
          message: { role: "assistant", content },
          done: true,
          done_reason: "stop",
          total_duration: 1_000_000,
          load_duration: 1_000,
          prompt_eval_count: 100,
          prompt_eval_duration: 1_000,
          eval_count: 50,
          eval_duration: 1_000,
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve()))),
  };
}
