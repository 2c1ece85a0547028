// DateTime: an ISO-8601 string with a time zone, always answered in UTC.
import { GraphQLError, GraphQLScalarType, Kind } from "graphql";

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

function parse(value: unknown): Date {
  if (typeof value !== "string" || !ISO.test(value)) {
    throw new GraphQLError("DateTime must be an ISO-8601 string with a time zone, like 2026-12-01T08:00:00Z", {
      extensions: { code: "BAD_USER_INPUT" },
    });
  }
  const date = new Date(value);
  if (Number.isNaN(date.getTime()) || Math.abs(date.getUTCFullYear() - 2026) > 100) {
    throw new GraphQLError("DateTime is not a valid date", { extensions: { code: "BAD_USER_INPUT" } });
  }
  return date;
}

export const DateTimeScalar = new GraphQLScalarType<Date, string>({
  name: "DateTime",
  description: "An ISO-8601 date and time in UTC, like 2026-12-01T08:00:00.000Z",
  serialize: (value) => (value instanceof Date ? value : new Date(String(value))).toISOString(),
  parseValue: parse,
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING) {
      throw new GraphQLError("DateTime must be a string", { extensions: { code: "BAD_USER_INPUT" } });
    }
    return parse(ast.value);
  },
});
