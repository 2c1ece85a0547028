import pino from "pino";
import pretty from "pino-pretty";

export type Logger = pino.Logger;

export interface LoggerOptions {
  level: string;
  /** `auto`: readable lines when stdout is a terminal, JSON lines otherwise (collectors, containers). */
  format?: "auto" | "pretty" | "json";
}

/** Whether the logs are written for a person: pretty when asked, or when stdout is a terminal. */
export function prettyLogs(format: LoggerOptions["format"] = "auto"): boolean {
  return format === "pretty" || (format === "auto" && process.stdout.isTTY === true);
}

/**
 * Logs on stdout with ISO-8601 times; authorization headers and secrets are never logged. JSON
 * lines for machines; on a terminal, one readable line per entry (pino-pretty, in this process:
 * no worker thread to lose lines at exit).
 */
export function createLogger(options: LoggerOptions | string): Logger {
  const { level, format } = typeof options === "string" ? { level: options, format: "json" as const } : options;
  const settings: pino.LoggerOptions = {
    level,
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ["req.headers.authorization", "*.token", "*.secret", "*.stripeSecretKey"], remove: true },
  };
  if (!prettyLogs(format)) return pino(settings);
  return pino(
    settings,
    pretty({
      colorize: process.stdout.isTTY === true,
      translateTime: "UTC:yyyy-mm-dd'T'HH:MM:ss.l'Z'",
      ignore: "pid,hostname",
      singleLine: true,
      sync: true,
    }),
  );
}
