import type { Knex } from 'knex';
import { ConflictError, NotFoundError } from '../lib/errors.js';
import type { AddressInput } from '../schemas/customer-dashboard.schema.js';
import { recordAudit } from './audit.service.js';
import { customerAccess, staffActor, type CustomerAccess } from './customer-access.service.js';
import type { FieldChanges } from './customer-details.service.js';
import type { StaffPrincipal } from './staff.service.js';

type Db = Knex | Knex.Transaction;

export interface AddressRecord {
  id: number;
  customerId: number;
  ownerShopId: number | null;
  firstName: string;
  lastName: string;
  company: string;
  line1: string;
  line2: string;
  postcode: string;
  city: string;
  region: string;
  countryCode: string;
  phone: string;
  isDefaultBilling: boolean;
  isDefaultShipping: boolean;
  createdAt: Date;
}

export type DefaultKind = 'billing' | 'shipping';
const DEFAULT_COLUMN = { billing: 'isDefaultBilling', shipping: 'isDefaultShipping' } as const;

export const LAST_ADDRESS = 'This is the customer’s only address, so it cannot be deleted. Add another address first, or edit this one.';
const ADDRESS_NOT_FOUND = 'We could not find that address.';

/** The customer's addresses the staff member may see: shared ones and those owned by one of their shops. */
function scopedAddresses(db: Db, access: CustomerAccess) {
  const query = db('addresses').where('addresses.customerId', access.customerId);
  const scope = access.staff.scope;
  if (scope !== 'all') query.andWhere((q) => q.whereNull('addresses.ownerShopId').orWhereIn('addresses.ownerShopId', scope));
  return query;
}

/** Default billing first, then default shipping, then the oldest. */
export async function listAddresses(db: Db, access: CustomerAccess): Promise<AddressRecord[]> {
  return scopedAddresses(db, access).orderBy([
    { column: 'isDefaultBilling', order: 'desc' },
    { column: 'isDefaultShipping', order: 'desc' },
    { column: 'id' },
  ]);
}

export async function findAddress(db: Db, access: CustomerAccess, addressId: number): Promise<AddressRecord> {
  if (!Number.isSafeInteger(addressId) || addressId <= 0) throw new NotFoundError(ADDRESS_NOT_FOUND);
  const address = (await scopedAddresses(db, access).where('addresses.id', addressId).first()) as AddressRecord | undefined;
  if (!address) throw new NotFoundError(ADDRESS_NOT_FOUND);
  return address;
}

/** One line, as the timeline shows an address. */
export function addressSummary(a: Pick<AddressRecord, 'firstName' | 'lastName' | 'company' | 'line1' | 'postcode' | 'city' | 'countryCode'>): string {
  const name = [a.firstName, a.lastName].filter(Boolean).join(' ');
  return [name, a.company, a.line1, [a.postcode, a.city].filter(Boolean).join(' '), a.countryCode].filter(Boolean).join(', ');
}

const addressColumns = (input: AddressInput) => ({
  firstName: input.firstName,
  lastName: input.lastName,
  company: input.company,
  line1: input.line1,
  line2: input.line2,
  postcode: input.postcode,
  city: input.city,
  region: input.region,
  countryCode: input.countryCode,
  phone: input.phone,
});

/** Makes `addressId` the default of `kind`, taking it from whichever address had it (one default per kind). */
async function moveDefault(trx: Knex.Transaction, customerId: number, kind: DefaultKind, addressId: number): Promise<void> {
  const column = DEFAULT_COLUMN[kind];
  await trx('addresses').where({ customerId, [column]: true }).whereNot('id', addressId).update({ [column]: false, updatedAt: trx.fn.now() });
  await trx('addresses').where({ id: addressId, customerId }).update({ [column]: true, updatedAt: trx.fn.now() });
}

/** Adds an address; the customer's first address becomes the default billing and shipping address. */
export async function createAddress(knex: Knex, staff: StaffPrincipal, customerId: number, input: AddressInput, requestId?: string): Promise<number> {
  return knex.transaction(async (trx) => {
    const access = await customerAccess(trx, staff, customerId, { lock: true });
    const first = !(await trx('addresses').where({ customerId }).first('id'));
    const [row] = (await trx('addresses').insert({ customerId, ...addressColumns(input) }).returning('id')) as Array<{ id: number }>;
    const id = row!.id;
    const defaults: DefaultKind[] = [];
    if (input.defaultBilling || first) defaults.push('billing');
    if (input.defaultShipping || first) defaults.push('shipping');
    for (const kind of defaults) await moveDefault(trx, customerId, kind, id);
    await recordAudit(trx, { ...staffActor(access, requestId), shopId: null, action: 'address.created', changes: { addressId: id, address: addressSummary(input), defaults } });
    return id;
  });
}

/**
 * Saves an edited address. Ticking "default" moves that default here; unticking is not offered
 * (a default moves by choosing another address), so the customer never loses one by accident.
 */
export async function updateAddress(knex: Knex, staff: StaffPrincipal, customerId: number, addressId: number, input: AddressInput, requestId?: string): Promise<FieldChanges> {
  return knex.transaction(async (trx) => {
    const access = await customerAccess(trx, staff, customerId, { lock: true });
    const before = await findAddress(trx, access, addressId);
    const after = addressColumns(input);
    const changes: FieldChanges = {};
    for (const [field, value] of Object.entries(after)) {
      const old = before[field as keyof AddressRecord];
      if (old !== value) changes[field] = { from: old, to: value };
    }
    if (Object.keys(changes).length) await trx('addresses').where({ id: addressId }).update({ ...after, updatedAt: trx.fn.now() });
    const defaults: DefaultKind[] = [];
    if (input.defaultBilling && !before.isDefaultBilling) defaults.push('billing');
    if (input.defaultShipping && !before.isDefaultShipping) defaults.push('shipping');
    for (const kind of defaults) await moveDefault(trx, customerId, kind, addressId);
    if (Object.keys(changes).length || defaults.length) {
      await recordAudit(trx, { ...staffActor(access, requestId), shopId: null, action: 'address.updated', changes: { addressId, address: addressSummary({ ...before, ...after }), fields: changes, defaults } });
    }
    return changes;
  });
}

export async function setDefaultAddress(knex: Knex, staff: StaffPrincipal, customerId: number, addressId: number, kind: DefaultKind, requestId?: string): Promise<void> {
  await knex.transaction(async (trx) => {
    const access = await customerAccess(trx, staff, customerId, { lock: true });
    const address = await findAddress(trx, access, addressId);
    if (address[DEFAULT_COLUMN[kind]]) return;
    const previous = (await trx('addresses').where({ customerId, [DEFAULT_COLUMN[kind]]: true }).first()) as AddressRecord | undefined;
    await moveDefault(trx, customerId, kind, addressId);
    await recordAudit(trx, {
      ...staffActor(access, requestId),
      shopId: null,
      action: 'address.default_changed',
      changes: { kind, addressId, fields: { [`default ${kind} address`]: { from: previous ? addressSummary(previous) : null, to: addressSummary(address) } } },
    });
  });
}

/**
 * Deletes an address, never the customer's last one. A default it carried moves to the most
 * recently added remaining address, so the customer keeps a billing and a shipping address.
 */
export async function deleteAddress(knex: Knex, staff: StaffPrincipal, customerId: number, addressId: number, requestId?: string): Promise<{ movedDefaults: DefaultKind[] }> {
  return knex.transaction(async (trx) => {
    const access = await customerAccess(trx, staff, customerId, { lock: true });
    const address = await findAddress(trx, access, addressId);
    const count = (await trx('addresses').where({ customerId }).count({ n: '*' }).first()) as { n: string | number };
    if (Number(count.n) <= 1) throw new ConflictError(LAST_ADDRESS);
    await trx('addresses').where({ id: addressId }).delete();
    const successor = (await trx('addresses').where({ customerId }).orderBy([{ column: 'createdAt', order: 'desc' }, { column: 'id', order: 'desc' }]).first()) as AddressRecord;
    const movedDefaults: DefaultKind[] = [];
    if (address.isDefaultBilling) movedDefaults.push('billing');
    if (address.isDefaultShipping) movedDefaults.push('shipping');
    for (const kind of movedDefaults) await moveDefault(trx, customerId, kind, successor.id);
    await recordAudit(trx, {
      ...staffActor(access, requestId),
      shopId: null,
      action: 'address.deleted',
      changes: { addressId, address: addressSummary(address), ...(movedDefaults.length ? { defaultsMovedTo: addressSummary(successor), defaults: movedDefaults } : {}) },
    });
    return { movedDefaults };
  });
}

/** The default billing and shipping addresses, as the customer information widget shows them. */
export async function defaultAddresses(db: Db, access: CustomerAccess): Promise<{ billing: AddressRecord | null; shipping: AddressRecord | null }> {
  const rows = (await scopedAddresses(db, access).andWhere((q) => q.where('isDefaultBilling', true).orWhere('isDefaultShipping', true))) as AddressRecord[];
  return { billing: rows.find((a) => a.isDefaultBilling) ?? null, shipping: rows.find((a) => a.isDefaultShipping) ?? null };
}
