import type { Config } from '../config/index.js';
import type { DemoLogins } from '../../seeds/demo.seed.js';

export function printDemoLogins(logins: DemoLogins): void {
  console.log(`
Demo logins (shown once; keep them):
  owner       ${logins.owner.email} / ${logins.owner.password}
  sales rep   ${logins.salesRep.email} / ${logins.salesRep.password}  (shop north, the North team's customers)
  customer    ${logins.customers.email} / ${logins.customers.password}  (every active demo customer uses this password)`);
}

export function printUrls(config: Config): void {
  const port = config.port === 80 ? '' : `:${config.port}`;
  console.log(`
Customer Portal is running:
  admin       http://${config.adminHost}${port}/admin
  shops       http://north.localhost${port}/account  http://south.localhost${port}/account  http://trade.localhost${port}/account
`);
}
