import pino from "pino";

export type Logger = pino.Logger;

/** JSON logs on stdout; authorization headers and secrets are never logged. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: undefined,
    redact: { paths: ["req.headers.authorization", "*.token", "*.secret", "*.stripeSecretKey"], remove: true },
  });
}
