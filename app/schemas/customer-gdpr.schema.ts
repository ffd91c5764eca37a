import { z } from 'zod';
import { text } from './form.js';

// F-CUST-9: the erase confirmation — the customer's e-mail typed by the staff member. It is
// compared with the stored address, not validated as an e-mail: any typing error is a mismatch.
export const gdprEraseSchema = z.object({
  email: text('The customer’s e-mail address', 254).min(1, 'Type the customer’s e-mail address to confirm.'),
});
