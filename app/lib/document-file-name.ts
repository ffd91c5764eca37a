// File names sent by browsers are for display only (F-FILE): they never become a path. These two
// helpers make one safe to show and safe to put back into a download's Content-Disposition.

const MAX_NAME = 255;
// C0/C1 controls, DEL, bidirectional overrides and isolates (a name like "invoice‮fdp.exe" must not
// display as something else), zero-width characters and the BOM.
// eslint-disable-next-line no-control-regex -- exactly these characters are what is removed
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g;

/**
 * The last path segment of `raw` (Unix or Windows separators), without invisible or control
 * characters, trailing dots or spaces, at most 255 characters (the extension kept); `fallback`
 * when nothing is left.
 */
export function displayFileName(raw: string, fallback = 'document'): string {
  const base = raw.normalize('NFC').split(/[/\\]/).pop() ?? '';
  let name = base.replace(INVISIBLE, '').replace(/\s+/g, ' ').trim().replace(/[.\s]+$/, '');
  if (name === '' || /^\.+$/.test(name)) return fallback;
  const chars = [...name];
  if (chars.length > MAX_NAME) {
    const dot = name.lastIndexOf('.');
    const extension = dot > 0 && name.length - dot <= 16 ? name.slice(dot) : '';
    name = [...name.slice(0, name.length - extension.length)].slice(0, MAX_NAME - [...extension].length).join('') + extension;
  }
  return name;
}

/** RFC 5987 `value-chars`: percent-encoded UTF-8, only attr-chars left as they are. */
function encodeExtValue(value: string): string {
  return encodeURIComponent(value).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * `Content-Disposition: attachment` for `name` (RFC 6266): a plain-ASCII `filename` for old clients
 * (anything else, quotes, backslashes and percent signs become `_`) and the exact name as
 * `filename*` in UTF-8.
 */
export function attachmentDisposition(name: string): string {
  const safe = displayFileName(name);
  const ascii = safe.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeExtValue(safe)}`;
}
