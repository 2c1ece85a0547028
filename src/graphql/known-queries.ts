// The short path for queries this process has already run: Apollo parsed and validated their text
// once, the executor compiled it (executor.ts), and from then on a POST of the same text is judged,
// run, logged and answered here. Clients send a handful of fixed queries, so nearly every read
// takes this path and skips the pipeline's work per request (its request context, plugin hooks,
// header maps, the document cache's hash of the text): a third of the node CPU of a search.
//
// Anything else goes to Apollo: a text not seen yet, mutations, batches, a body with extensions
// (persisted queries), an Accept header that may want another content type, variables that do not
// coerce, and any refusal before the query runs (the context's, the cost's, the rate limit's),
// which Apollo then answers as it always does. Nothing is spent on the short path before the
// request is sure to stay on it.
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  getVariableValues,
  GraphQLError,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from "graphql";
import type { CompiledQuery } from "graphql-jit";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import type { Context } from "./context.js";
import { formatError } from "./errors.js";
import { sendJson } from "./http.js";
import type { RequestJudge } from "./rate-limit.js";
import { codeOf, logOperation } from "./request-log.js";

/** A validated query of one text, compiled. */
export interface KnownQuery {
  document: DocumentNode;
  operation: OperationDefinitionNode;
  compiled: CompiledQuery;
}

/** Texts kept per process, as many as compiled operations; the oldest goes first. */
const MAX_KNOWN = 500;

/** Accept headers whose answer is application/json, as Apollo would choose it. */
const PLAIN_ACCEPT = new Set([undefined, "*/*", "application/json", "application/json; charset=utf-8"]);

/** Where a request goes when the short path does not answer it: Apollo, with this context. */
export type ToApollo<C> = () => Promise<C>;

const keyOf = (query: string, operationName: string | undefined) => `${operationName ?? ""}\n${query}`;

export class KnownQueries {
  private readonly known = new Map<string, KnownQuery>();

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly judge: RequestJudge,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
    private readonly development: boolean,
  ) {}

  /** A query Apollo validated and the executor compiled, under the text and operation name it came with. */
  remember(query: string, operationName: string | undefined, known: KnownQuery): void {
    if (known.operation.operation !== "query") return;
    const key = keyOf(query, operationName);
    if (this.known.has(key)) return;
    if (this.known.size >= MAX_KNOWN) this.known.delete(this.known.keys().next().value!);
    this.known.set(key, known);
  }

  /** The known query a request asks for, when the body is one plain operation Apollo would read the same way. */
  private match(req: IncomingMessage, body: unknown): KnownQuery | undefined {
    if (!PLAIN_ACCEPT.has(req.headers.accept) || typeof body !== "object" || body === null || Array.isArray(body))
      return undefined;
    const { query, operationName, variables, extensions } = body as Record<string, unknown>;
    if (typeof query !== "string" || extensions !== undefined) return undefined;
    if (operationName != null && typeof operationName !== "string") return undefined;
    if (variables != null && (typeof variables !== "object" || Array.isArray(variables))) return undefined;
    return this.known.get(keyOf(query, operationName ?? undefined));
  }

  /**
   * Answers the request when it is a known query that runs; else says how Apollo gets its context
   * (the one built here, or its error, so that the caller is identified once).
   */
  async answer<C extends Context>(
    req: IncomingMessage,
    res: ServerResponse,
    body: unknown,
    contextOf: (req: IncomingMessage) => Promise<C>,
  ): Promise<ToApollo<C> | null> {
    const known = this.match(req, body);
    if (!known) return () => contextOf(req);
    const started = performance.now();
    let context: C;
    try {
      context = await contextOf(req);
    } catch (error) {
      return () => Promise.reject(error);
    }
    const toApollo = () => Promise.resolve(context);
    const variables = ((body as { variables?: Record<string, unknown> | null }).variables ?? undefined) as
      Record<string, unknown> | undefined;
    const coerced = getVariableValues(this.schema, known.operation.variableDefinitions ?? [], variables ?? {});
    if (coerced.errors) return toApollo;
    const admission = await this.judge.admit(context, known.document, known.operation, variables);
    if (admission.refusal) return toApollo;

    const result = (await known.compiled.query(undefined, context, coerced.coerced)) as ExecutionResult;
    const errors = result.errors?.map(asGraphQLError);
    const { formatted, status, headers } = this.formatted(errors);
    const text = JSON.stringify({
      errors: formatted,
      data: result.data,
      extensions: { ...result.extensions, cost: await this.judge.cost(context, admission) },
    });
    sendJson(
      res,
      status,
      { ...headers, "content-type": "application/json; charset=utf-8", "x-request-id": context.requestId },
      text,
    );
    logOperation(this.logger, this.metrics, {
      context,
      started,
      type: "query",
      name: known.operation.name?.value,
      codes: formatted?.map((e) => String(e.extensions?.code)),
      internal: errors?.filter((e) => codeOf(e) === "INTERNAL_SERVER_ERROR"),
    });
    return null;
  }

  /** The errors as Apollo formats a result's: a code on each, the HTTP status and headers some carry. */
  private formatted(errors: GraphQLError[] | undefined) {
    let status = 200;
    const headers: Record<string, string> = {};
    const formatted = errors?.map((error): GraphQLFormattedError => {
      const { http, ...extensions } = error.extensions as Record<string, unknown> & {
        http?: { status?: number; headers?: Map<string, string> };
      };
      if (http?.status) status = http.status;
      for (const [name, value] of http?.headers ?? []) headers[name] = value;
      const enriched: Record<string, unknown> = { ...extensions, code: extensions.code ?? "INTERNAL_SERVER_ERROR" };
      if (this.development) enriched.stacktrace = error.stack?.split("\n");
      return formatError({ ...error.toJSON(), extensions: enriched }, error, this.development);
    });
    return { formatted, status, headers };
  }
}

/**
 * graphql-jit's errors borrow GraphQLError's prototype but leave `extensions` undefined when the
 * cause has none, which error formatting cannot read: rebuilt as graphql-js builds them.
 */
export function asGraphQLError(error: GraphQLError): GraphQLError {
  const rebuilt = new GraphQLError(error.message, {
    path: error.path,
    originalError: error.originalError ?? undefined,
  });
  return Object.assign(rebuilt, { locations: error.locations });
}
