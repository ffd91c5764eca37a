import { parseMoney } from '../../lib/money.js';

/**
 * The customer fields an import can fill, the column headers we recognise (Shopify's and
 * Magento's customer exports, and common names), and how a cell is tidied before validation.
 * Validation itself runs set-based in SQL (import-run.service.ts) from the same catalogue.
 */

export type FieldKind = 'email' | 'text' | 'phone' | 'bool' | 'country' | 'customerType' | 'tags' | 'note' | 'money' | 'date' | 'limitPeriod';

/** The groups of the preview's field menu, in its order. */
export const IMPORT_FIELD_GROUPS = ['Customer', 'Default address', 'Purchase limit', 'Order rules'] as const;
export type ImportFieldGroup = (typeof IMPORT_FIELD_GROUPS)[number];

export interface ImportField {
  /** Also the column name in the staging table customer_import_rows. */
  key: string;
  label: string;
  group: ImportFieldGroup;
  kind: FieldKind;
  max: number;
  /** Money only: zero is a limit too (every order over nothing); otherwise an amount is above zero. */
  zeroAllowed?: boolean;
  /** Spreadsheet exports put `'` before numbers that must stay text (phones, zip codes). */
  stripQuote?: boolean;
}

export const IMPORT_FIELDS = [
  { key: 'email', label: 'E-mail', group: 'Customer', kind: 'email', max: 254 },
  { key: 'salutation', label: 'Salutation', group: 'Customer', kind: 'text', max: 40 },
  { key: 'first_name', label: 'First name', group: 'Customer', kind: 'text', max: 100 },
  { key: 'middle_name', label: 'Middle name', group: 'Customer', kind: 'text', max: 100 },
  { key: 'last_name', label: 'Last name', group: 'Customer', kind: 'text', max: 100 },
  { key: 'phone', label: 'Phone', group: 'Customer', kind: 'phone', max: 40, stripQuote: true },
  { key: 'company', label: 'Company', group: 'Customer', kind: 'text', max: 200 },
  { key: 'company2', label: 'Company (second line)', group: 'Customer', kind: 'text', max: 200 },
  { key: 'department', label: 'Department', group: 'Customer', kind: 'text', max: 100 },
  { key: 'customer_type', label: 'Customer type (B2C, B2B, B2E, GUEST)', group: 'Customer', kind: 'customerType', max: 5 },
  { key: 'marketing_opt_in', label: 'Accepts e-mail marketing (yes/no)', group: 'Customer', kind: 'bool', max: 5 },
  { key: 'tax_exempt', label: 'Tax exempt (yes/no)', group: 'Customer', kind: 'bool', max: 5 },
  { key: 'tags', label: 'Tags (comma-separated)', group: 'Customer', kind: 'tags', max: 2000 },
  { key: 'note', label: 'Note', group: 'Customer', kind: 'note', max: 5000 },
  { key: 'address_first_name', label: 'First name', group: 'Default address', kind: 'text', max: 100 },
  { key: 'address_last_name', label: 'Last name', group: 'Default address', kind: 'text', max: 100 },
  { key: 'address_company', label: 'Company', group: 'Default address', kind: 'text', max: 200 },
  { key: 'address_line1', label: 'Street', group: 'Default address', kind: 'text', max: 200 },
  { key: 'address_line2', label: 'Street, second line', group: 'Default address', kind: 'text', max: 200 },
  { key: 'address_city', label: 'City', group: 'Default address', kind: 'text', max: 100 },
  { key: 'address_region', label: 'Region / province', group: 'Default address', kind: 'text', max: 100 },
  { key: 'address_postcode', label: 'Postcode', group: 'Default address', kind: 'text', max: 20, stripQuote: true },
  { key: 'address_country', label: 'Country code (e.g. DE)', group: 'Default address', kind: 'country', max: 2 },
  { key: 'address_phone', label: 'Phone', group: 'Default address', kind: 'phone', max: 40, stripQuote: true },
  { key: 'purchase_limit', label: 'Amount', group: 'Purchase limit', kind: 'money', max: 20 },
  { key: 'purchase_limit_period', label: 'Period', group: 'Purchase limit', kind: 'limitPeriod', max: 20 },
  { key: 'purchase_limit_start', label: 'Start date', group: 'Purchase limit', kind: 'date', max: 10 },
  { key: 'purchase_limit_end', label: 'End date', group: 'Purchase limit', kind: 'date', max: 10 },
  // F-CUST-1's order rules, as the dashboard's edit form sets them; the checkout limit is what
  // other systems export as a customer's credit limit.
  { key: 'require_approval', label: 'Every order needs approval (yes/no)', group: 'Order rules', kind: 'bool', max: 5 },
  { key: 'approval_limit', label: 'Approval limit', group: 'Order rules', kind: 'money', max: 20, zeroAllowed: true },
  { key: 'block_checkout', label: 'Checkout blocked (yes/no)', group: 'Order rules', kind: 'bool', max: 5 },
  { key: 'checkout_limit', label: 'Checkout limit', group: 'Order rules', kind: 'money', max: 20, zeroAllowed: true },
] as const satisfies readonly ImportField[];

export type FieldKey = (typeof IMPORT_FIELDS)[number]['key'];
export type Mapping = Array<FieldKey | null>;

export const FIELD_KEYS = IMPORT_FIELDS.map((field) => field.key) as FieldKey[];
const FIELDS_BY_KEY = new Map<string, ImportField>(IMPORT_FIELDS.map((field) => [field.key, field]));

export function fieldOf(key: FieldKey): ImportField {
  return FIELDS_BY_KEY.get(key)!;
}

const GROUP_PREFIX: Record<ImportFieldGroup, string> = { Customer: '', 'Default address': 'Address', 'Purchase limit': 'Purchase limit', 'Order rules': 'Order rules' };

export function fieldLabel(key: FieldKey): string {
  const field = fieldOf(key);
  const prefix = GROUP_PREFIX[field.group];
  return prefix ? `${prefix}: ${field.label.charAt(0).toLowerCase()}${field.label.slice(1)}` : field.label;
}

/** A header as we compare it: case, separators (`_`, `-`, `.`) and spacing do not matter. */
export function normaliseHeader(header: string): string {
  return header
    .replace(/^\uFEFF/, '')
    .toLowerCase()
    .replace(/[_\-.]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

// Header → field, with a priority: when two columns name the same field (Shopify's older export has
// both "Province" and "Province Code"), the higher one is used and the other is left unmapped.
const KNOWN_HEADERS: Record<string, [FieldKey, number?]> = {
  // Shopify (current and older exports), Magento's customer main and composite files, common names.
  email: ['email'],
  'e mail': ['email'],
  'email address': ['email'],
  'e mail address': ['email'],
  'customer email': ['email'],
  'first name': ['first_name'],
  firstname: ['first_name'],
  'given name': ['first_name'],
  'middle name': ['middle_name'],
  middlename: ['middle_name'],
  'last name': ['last_name'],
  lastname: ['last_name'],
  surname: ['last_name'],
  'family name': ['last_name'],
  salutation: ['salutation'],
  prefix: ['salutation'],
  phone: ['phone'],
  telephone: ['phone'],
  'phone number': ['phone'],
  mobile: ['phone'],
  company: ['company'],
  'company name': ['company'],
  'default address company': ['company'],
  'company 2': ['company2'],
  'company name 2': ['company2'],
  department: ['department'],
  'customer type': ['customer_type'],
  'accepts email marketing': ['marketing_opt_in'],
  'accepts marketing': ['marketing_opt_in'],
  'marketing opt in': ['marketing_opt_in'],
  newsletter: ['marketing_opt_in'],
  'tax exempt': ['tax_exempt'],
  tags: ['tags'],
  tag: ['tags'],
  note: ['note'],
  notes: ['note'],
  'customer note': ['note'],
  comment: ['note'],
  'address first name': ['address_first_name'],
  'address firstname': ['address_first_name'],
  'default address first name': ['address_first_name'],
  'address last name': ['address_last_name'],
  'address lastname': ['address_last_name'],
  'default address last name': ['address_last_name'],
  'address company': ['address_company'],
  'default address address1': ['address_line1'],
  address1: ['address_line1'],
  'address 1': ['address_line1'],
  'address line 1': ['address_line1'],
  street: ['address_line1'],
  'address street': ['address_line1'],
  'default address address2': ['address_line2'],
  address2: ['address_line2'],
  'address 2': ['address_line2'],
  'address line 2': ['address_line2'],
  'default address city': ['address_city'],
  city: ['address_city'],
  'address city': ['address_city'],
  'default address province code': ['address_region', 2],
  'province code': ['address_region', 2],
  province: ['address_region'],
  region: ['address_region'],
  'address region': ['address_region'],
  'default address zip': ['address_postcode'],
  zip: ['address_postcode'],
  'zip code': ['address_postcode'],
  postcode: ['address_postcode'],
  'postal code': ['address_postcode'],
  'address postcode': ['address_postcode'],
  'default address country code': ['address_country', 2],
  'country code': ['address_country', 2],
  'country id': ['address_country', 2],
  'address country id': ['address_country', 2],
  country: ['address_country'],
  'default address phone': ['address_phone'],
  'purchase limit': ['purchase_limit'],
  'purchase limit amount': ['purchase_limit'],
  'purchase limit period': ['purchase_limit_period'],
  'purchase limit start': ['purchase_limit_start'],
  'purchase limit start date': ['purchase_limit_start'],
  'purchase limit from': ['purchase_limit_start'],
  'purchase limit end': ['purchase_limit_end'],
  'purchase limit end date': ['purchase_limit_end'],
  'purchase limit to': ['purchase_limit_end'],
  'address phone': ['address_phone'],
  'address telephone': ['address_phone'],
  'require approval': ['require_approval'],
  'requires approval': ['require_approval'],
  'order approval': ['require_approval'],
  'approval limit': ['approval_limit'],
  'require approval over': ['approval_limit'],
  'approval needed over': ['approval_limit'],
  'approval over': ['approval_limit'],
  'block checkout': ['block_checkout'],
  'checkout blocked': ['block_checkout'],
  'checkout limit': ['checkout_limit'],
  'block checkout over': ['checkout_limit'],
  'checkout blocked over': ['checkout_limit'],
  'credit limit': ['checkout_limit'],
  'credit limit amount': ['checkout_limit'],
};

// Magento's address file (customer_address) names the address's own person and phone like the
// customer's in the main file.
const MAGENTO_ADDRESS_HEADERS: Record<string, FieldKey | null> = {
  firstname: 'address_first_name',
  lastname: 'address_last_name',
  company: 'address_company',
  telephone: 'address_phone',
  middlename: null,
  prefix: null,
};

/** Why a well-known column is not imported, shown next to it in the preview. */
const NOT_IMPORTED: Record<string, string> = {
  'total spent': 'computed from orders',
  'total orders': 'computed from orders',
  'customer id': 'ids of the other system are not kept',
  password: 'passwords are never imported',
  'password hash': 'passwords are never imported',
  'rp token': 'never imported',
  'rp token created at': 'never imported',
  'accepts sms marketing': 'no such setting here',
};

const SECRET_HEADER = /pass|token|secret|hash/i;

function isMagentoAddressFile(header: string[]): boolean {
  const raw = new Set(header.map((h) => h.trim().toLowerCase()));
  return raw.has('_email') && !raw.has('email') && (raw.has('country_id') || raw.has('_entity_id'));
}

/** The mapping proposed for a file's header: recognised columns filled in, the rest not imported. */
export function proposeMapping(header: string[]): Mapping {
  const addressFile = isMagentoAddressFile(header);
  const best = new Map<FieldKey, { column: number; priority: number }>();
  header.forEach((name, column) => {
    const normalised = normaliseHeader(name);
    let field: FieldKey | null | undefined;
    let priority = 1;
    if (addressFile && normalised in MAGENTO_ADDRESS_HEADERS) field = MAGENTO_ADDRESS_HEADERS[normalised];
    else {
      const known = KNOWN_HEADERS[normalised];
      if (known) [field, priority = 1] = known;
    }
    if (!field) return;
    const current = best.get(field);
    if (!current || priority > current.priority) best.set(field, { column, priority });
  });
  const mapping: Mapping = header.map(() => null);
  for (const [field, { column }] of best) mapping[column] = field;
  return mapping;
}

export function notImportedHint(header: string): string | undefined {
  return NOT_IMPORTED[normaliseHeader(header)];
}

/** Preview cells of columns that hold secrets (Magento's password hashes, reset tokens) are masked. */
export function maskSecrets(header: string[], rows: string[][]): string[][] {
  const secret = header.map((name) => SECRET_HEADER.test(name));
  return rows.map((row) => row.map((cell, i) => (secret[i] && cell ? '••••••' : cell)));
}

/** Problems with a mapping chosen in the preview, or null when it can be run. */
export function mappingProblem(mapping: Mapping): string | null {
  if (!mapping.includes('email')) return 'Choose the column that holds the e-mail address: customers are matched by it.';
  const seen = new Set<FieldKey>();
  for (const field of mapping) {
    if (!field) continue;
    if (seen.has(field)) return `“${fieldLabel(field)}” is chosen for more than one column. Choose it once.`;
    seen.add(field);
  }
  return null;
}

const TRUE = new Set(['yes', 'y', 'true', '1', 'on', 'x']);
const FALSE = new Set(['no', 'n', 'false', '0', 'off']);

/**
 * Tidies one cell for its field before it is staged: trimmed, empty → null (null means "not
 * given": an existing customer keeps that value). Anything still wrong is left for validation to
 * reject with a reason, so nothing is silently changed.
 */
export function tidyCell(field: ImportField, raw: string): string | null {
  // PostgreSQL text cannot hold NUL; nothing legitimate has it. (Looked for first: replaceAll on
  // every cell was a tenth of staging a large file.)
  let value = (raw.includes('\u0000') ? raw.replaceAll('\u0000', '') : raw).trim();
  if (field.stripQuote && value.startsWith("'")) value = value.slice(1).trim();
  if (value === '') return null;
  switch (field.kind) {
    case 'bool': {
      const lower = value.toLowerCase();
      return TRUE.has(lower) ? 'true' : FALSE.has(lower) ? 'false' : value;
    }
    case 'country':
      // "de" is a code in the wrong case; "Germany" stays as it is, to be reported as it was written.
      return /^[a-z]{2}$/i.test(value) ? value.toUpperCase() : value;
    case 'customerType':
      return value.toUpperCase();
    case 'money': {
      // Read as the dashboard's form reads amounts ("1250.50", "1250,5"; no thousands separators), staged in minor units.
      const minor = parseMoney(value);
      return minor === null ? value : String(minor);
    }
    case 'limitPeriod':
      return value.toLowerCase();
    case 'tags': {
      // Tags are kept lower-case, as the list's bulk actions keep them.
      const tags = new Set(value.split(',').map((tag) => tag.trim().toLowerCase()).filter(Boolean));
      return tags.size ? [...tags].join(',') : null;
    }
    default:
      return value;
  }
}

/** ISO 3166-1 alpha-2 codes (and XK, which shops use for Kosovo). */
export const COUNTRY_CODES = (
  'AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ ' +
  'CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR ' +
  'GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP ' +
  'KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT ' +
  'MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW ' +
  'SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG ' +
  'UM US UY UZ VA VC VE VG VI VN VU WF WS XK YE YT ZA ZM ZW'
).split(' ');
