import type { Request, Response } from 'express';
import { viewHelpers } from './views.js';

/**
 * htmx asks for a fragment with `HX-Request: true`; its full-page requests (boosted navigation,
 * `HX-Request-Type: full`) and history restores need the whole page.
 */
export function wantsFragment(req: Request): boolean {
  return req.get('HX-Request') === 'true' && req.get('HX-Request-Type') !== 'full' && !req.get('HX-History-Restore-Request');
}

export interface RenderOptions {
  /** The partial rendered instead of the page for htmx requests. */
  fragment?: string;
  status?: number;
}

export function render(req: Request, res: Response, page: string, data: object = {}, options: RenderOptions = {}): void {
  const locals = { ...res.locals, ...data, h: viewHelpers, flash: takeFlash(req) };
  const template = options.fragment && wantsFragment(req) ? options.fragment : page;
  const html: string = req.app.locals.views.render(template, locals);
  res.vary('HX-Request');
  res.status(options.status ?? 200).type('html');
  // Not res.send: it copies a page of more than 1,000 characters into a Buffer of its own first
  // (for an ETag, which pages have none), where the socket encodes the text once anyway.
  res.setHeader('Content-Length', Buffer.byteLength(html));
  res.end(html);
}

export type FlashKind = 'success' | 'info' | 'error';

export function flash(req: Request, kind: FlashKind, text: string): void {
  if (!req.session) return;
  req.session.flash = [...(req.session.flash ?? []), { kind, text }];
}

function takeFlash(req: Request): Array<{ kind: FlashKind; text: string }> {
  const messages = req.session?.flash ?? [];
  if (req.session?.flash) delete req.session.flash;
  return messages;
}
