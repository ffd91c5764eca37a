import { pino, type DestinationStream, type Logger } from 'pino';

/** `destination` defaults to stdout; tests pass a stream to read what would be logged. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      redact: {
        // Secrets that must never reach a log line, wherever they appear. Tokens in URL paths
        // (invitation, reset, group URL) are replaced by the request serializer in server.ts.
        paths: ['req.headers.cookie', 'req.headers.authorization', 'req.headers["x-csrf-token"]', 'res.headers["set-cookie"]', '*.password', '*.token', 'password', 'token'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
