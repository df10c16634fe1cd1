import type { FastifyInstance } from "fastify";
import secureJson from "secure-json-parse";

/**
 * Fastify's default JSON parser answers every failure with one sentence ("Body is not valid JSON");
 * this one keeps its safety (`__proto__` and `constructor.prototype` keys refused, as prototype
 * pollution attempts) and says what is wrong and where, so a caller can fix the request.
 */
export function installJsonBodyParser(app: FastifyInstance): void {
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (_req, body, done) => {
    const text = body as string;
    if (text.length === 0) return done(badRequest("the body is empty; expected JSON"), undefined);
    try {
      done(null, secureJson.parse(text, undefined, { protoAction: "error", constructorAction: "error" }));
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const reason = /forbidden (prototype|constructor) property/.test(message)
        ? "the body holds a __proto__ or constructor.prototype key, refused as a prototype-pollution attempt"
        : `the body is not valid JSON: ${message}`;
      done(badRequest(reason), undefined);
    }
  });
}

function badRequest(message: string): Error & { statusCode: number } {
  return Object.assign(new Error(message), { statusCode: 400 });
}
