/** A Set-Cookie header as the browser would read it; attribute names are lower-cased. */
export interface SetCookie {
  name: string;
  value: string;
  attributes: Record<string, string | true>;
  raw: string;
}

export function parseSetCookie(raw: string): SetCookie {
  const [pair = '', ...parts] = raw.split(';');
  const at = pair.indexOf('=');
  const attributes: Record<string, string | true> = {};
  for (const part of parts) {
    const [key = '', ...rest] = part.trim().split('=');
    attributes[key.toLowerCase()] = rest.length ? rest.join('=') : true;
  }
  return { name: pair.slice(0, at).trim(), value: pair.slice(at + 1).trim(), attributes, raw };
}

/** Every Set-Cookie header of a response. */
export function setCookies(response: { headers: Record<string, unknown> }): SetCookie[] {
  const header = response.headers['set-cookie'];
  const list = Array.isArray(header) ? header : typeof header === 'string' ? [header] : [];
  return list.map((raw) => parseSetCookie(String(raw)));
}

/** The Set-Cookie header for `name`, if the response sent one. */
export function setCookie(response: { headers: Record<string, unknown> }, name: string): SetCookie | undefined {
  return setCookies(response).find((cookie) => cookie.name === name);
}

/** `name=value`, ready for a request's Cookie header. */
export function cookiePair(cookie: Pick<SetCookie, 'name' | 'value'>): string {
  return `${cookie.name}=${cookie.value}`;
}

/** The session id inside an express-session cookie value (`s:<id>.<signature>`, URL-encoded). */
export function sessionIdOf(cookie: Pick<SetCookie, 'value'>): string {
  const decoded = decodeURIComponent(cookie.value);
  if (!decoded.startsWith('s:')) throw new Error(`not a signed session cookie: ${cookie.value}`);
  return decoded.slice(2, decoded.lastIndexOf('.'));
}
