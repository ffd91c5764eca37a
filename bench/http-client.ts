import http from 'node:http';

/** A keep-alive HTTP client that sends a Host header of our choice (fetch does not allow one). */
export function createClient(port: number, host: string) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  let cookie = '';
  const request = (method: string, path: string, body?: string, headers: Record<string, string> = {}) =>
    new Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port, method, path, agent, headers: { Host: host, Cookie: cookie, ...(body ? { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': Buffer.byteLength(body) } : {}), ...headers } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const set = res.headers['set-cookie'];
            if (set?.length) cookie = set.map((c) => c.split(';')[0]).join('; ');
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers });
          });
        },
      );
      req.on('error', reject);
      if (body) req.write(body);
      req.end();
    });
  return {
    request,
    get: (path: string, headers?: Record<string, string>) => request('GET', path, undefined, headers),
    async login(email: string, password: string) {
      const page = await request('GET', '/admin/login');
      const token = /name="csrf-token" content="([^"]+)"/.exec(page.body)?.[1] ?? '';
      const res = await request('POST', '/admin/login', new URLSearchParams({ email, password, _csrf: token }).toString());
      if (res.status !== 303) throw new Error(`bench login failed: ${res.status}`);
    },
    /** The session cookie the client sends, for another client to act as the same staff member. */
    cookie: () => cookie,
    close: () => agent.destroy(),
  };
}

export function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}
