import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface SmtpSinkOptions {
  /** Holds every message this long before accepting it: a slow server. */
  delayMs?: number;
}

export interface SmtpSink {
  url: string;
  messages: ParsedMail[];
  /** While true, every recipient is refused with a temporary error (451), so each send fails. */
  rejecting: boolean;
  /** How many sends were refused while `rejecting`. */
  refused: number;
  /** How many messages started their DATA phase (accepted, or still being held by `delayMs`). */
  receiving: number;
  /** Resolves when `count` messages have arrived, or rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number): Promise<ParsedMail[]>;
  close(): Promise<void>;
}

/** A real SMTP server on 127.0.0.1 that keeps what it receives, parsed. */
export async function startSmtpSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const messages: ParsedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(_address, _session, callback) {
      if (!sink.rejecting) return callback();
      sink.refused += 1;
      callback(Object.assign(new Error('Mailbox temporarily unavailable'), { responseCode: 451 }));
    },
    onData(stream, _session, callback) {
      sink.receiving += 1;
      simpleParser(stream).then(
        (mail) => {
          setTimeout(() => {
            messages.push(mail);
            callback();
          }, options.delayMs ?? 0);
        },
        (err: Error) => callback(err),
      );
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  const sink: SmtpSink = {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    rejecting: false,
    refused: 0,
    receiving: 0,
    async waitFor(count, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (messages.length < count) {
        if (Date.now() > deadline) throw new Error(`expected ${count} message(s), got ${messages.length}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return messages;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  return sink;
}
