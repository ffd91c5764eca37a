import type { Request } from 'express';

/** The host name of the request as the browser sent it (Host header, port dropped, lower-cased). */
export function requestHostname(req: Request): string {
  const host = (req.headers.host ?? '').trim().toLowerCase();
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  return host.split(':')[0] ?? '';
}
