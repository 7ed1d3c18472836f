import type { DestinationStream, Level, LoggerOptions } from 'pino';
import { stdSerializers, stdTimeFunctions } from 'pino';
import PinoPretty from 'pino-pretty';
import type { LogSettings } from '../config/app-config.js';
import { currentLogContext } from './log-context.js';
import { scrubDeep, scrubText } from './scrub.js';

/** Keys whose values never reach a log: pino's `redact` censors them at the top and two levels down. */
export const REDACTED_KEYS = ['authorization', 'password', 'secret', 'apiKey', 'token', 'idempotencyKey', 'cardNumber', 'pan', 'x-api-key', 'cookie', 'set-cookie', 'csrfToken', 'x-csrf-token'];

/** LOG_LEVEL keeps Nest's names (what the config has always taken); pino calls two of them otherwise. */
const PINO_LEVELS: Record<string, Level> = { fatal: 'fatal', error: 'error', warn: 'warn', log: 'info', debug: 'debug', verbose: 'trace' };


function redactPaths(): string[] {
  const path = (key: string) => (/^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `["${key}"]`);
  return REDACTED_KEYS.flatMap((key) => [path(key).replace(/^\./, ''), `*${path(key)}`, `*.*${path(key)}`]);
}

/**
 * pino's options for the whole process. Every line carries the correlation id and payment id of the
 * request or Kafka message in hand (mixin over log-context.ts, the one place they live, which also
 * carries them into Kafka headers). Secrets are masked twice: by key (`redact`), and in the text of
 * messages and errors (scrub.ts: bearer credentials, API keys, Authorization values, card-like numbers).
 */
export function pinoOptions(settings: LogSettings): LoggerOptions {
  return {
    level: pinoLevel(settings),
    messageKey: 'message',
    timestamp: stdTimeFunctions.isoTime,
    base: { pid: process.pid },
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: redactPaths(), censor: '[REDACTED]' },
    mixin() {
      // The context's fields that are set (a request has no stage, a batch no single payment).
      return currentLogContext() ?? {};
    },
    hooks: {
      // Free text is where key-based redaction cannot look: messages and interpolated values.
      logMethod(args, method) {
        const scrubbed = args.map((arg: unknown) => (typeof arg === 'string' ? scrubText(arg) : scrubDeep(arg))) as Parameters<typeof method>;
        method.apply(this, scrubbed);
      },
    },
    serializers: {
      err: (error: Error) => {
        const serialized = stdSerializers.err(error);
        return { ...serialized, message: scrubText(serialized.message), stack: scrubText(serialized.stack ?? '') };
      },
    },
  };
}

/**
 * Where lines go: one sink per process, as nestjs-pino keeps one root logger per process (the first
 * app's). Each app created switches the sink to its own format, so a process that starts several apps
 * (the e2e suites; never production) logs in the newest one's. process.stdout itself rather than
 * pino's fd writer, so a line is one `process.stdout.write` (what the log tests capture); pretty
 * printing runs in this thread, without a worker transport.
 */
const sink = { write: (line: string) => void process.stdout.write(line) };

export function processLogSink(settings: LogSettings): DestinationStream {
  if (settings.json) {
    sink.write = (line) => void process.stdout.write(line);
  } else {
    const pretty = PinoPretty({ destination: process.stdout, sync: true, colorize: Boolean(process.stdout.isTTY),
      messageKey: 'message',
      messageFormat: '{if context}[{context}] {end}{message}',
      // The ids stay, on the same line: {"correlationId":…,"paymentId":…}.
      singleLine: true,
      ignore: 'pid,hostname,context',
      translateTime: 'SYS:HH:MM:ss.l',
    });
    sink.write = (line) => void pretty.write(line);
  }
  return sink;
}

export function pinoLevel(settings: LogSettings): Level {
  return PINO_LEVELS[settings.level] ?? 'info';
}
