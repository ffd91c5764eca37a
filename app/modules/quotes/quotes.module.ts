import type { PortalModule } from '../index.js';
import { loadQuotesWidget } from './quote.service.js';
import { quotesRouter } from './quotes.router.js';

/** The Quotes module (F-DASH-10): current quotes on the customer dashboard, view all, create. */
export const quotesModule: PortalModule = {
  name: 'quotes',
  widgets: [{ name: 'quotes', template: 'partials/modules/quotes/quotes', column: 'main', order: 30, load: loadQuotesWidget }],
  router: quotesRouter,
};
