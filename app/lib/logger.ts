import { pino, type Logger } from 'pino';

export function createLogger(level: string): Logger {
  return pino({
    level,
    redact: {
      // Secrets that must never reach a log line, wherever they appear.
      paths: ['req.headers.cookie', 'req.headers.authorization', 'req.headers["x-csrf-token"]', '*.password', '*.token', 'password', 'token'],
      censor: '[redacted]',
    },
  });
}
