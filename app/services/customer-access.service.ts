import type { Knex } from 'knex';
import { NotFoundError } from '../lib/errors.js';
import type { AssignmentStatus } from '../models/customer.model.js';
import type { ShopScope } from '../models/staff-user.model.js';
import type { StaffPrincipal } from './staff.service.js';

type Db = Knex | Knex.Transaction;

/** One of the customer's shop assignments that the staff member may see, with its order figures. */
export interface ScopedShop {
  shopId: number;
  shopName: string;
  shopCode: string;
  currency: string;
  timeZone: string;
  status: AssignmentStatus;
  ordersCount: number;
  totalSpent: number;
  lastOrderAt: Date | null;
  assignedAt: Date;
}

/** What a dashboard action knows after the scope check: who acts, on whom, and in which shops. */
export interface CustomerAccess {
  customerId: number;
  staff: StaffPrincipal;
  /** The customer's assignments in the staff member's shops (never empty), by shop name. */
  shops: ScopedShop[];
  shopIds: number[];
  /** F-CUST-9: when the customer's personal data was erased (the record then takes no changes). */
  erasedAt: Date | null;
}

export const CUSTOMER_NOT_FOUND = 'We could not find that customer.';

/** Restricts `query` to the staff member's shops on `column` (no-op for staff who see every shop). */
export function whereInScope<T extends Knex.QueryBuilder>(query: T, column: string, scope: ShopScope): T {
  return scope === 'all' ? query : (query.whereIn(column, scope) as T);
}

/**
 * The scope rule of every dashboard read and write (F-STAFF-1, F-SEC): the customer exists for
 * a staff member only with an assignment in one of their shops, and for a sales rep in a team
 * only when the customer belongs to that team. Anything else answers 404, as if the customer did
 * not exist. With `lock`, the customer row is locked until the transaction ends, so concurrent
 * edits of the same customer (defaults, tags, e-mail) run one after the other.
 */
export async function customerAccess(db: Db, staff: StaffPrincipal, customerId: number, options: { lock?: boolean } = {}): Promise<CustomerAccess> {
  if (!Number.isSafeInteger(customerId) || customerId <= 0) throw new NotFoundError(CUSTOMER_NOT_FOUND);
  const customer = db('customers').where({ id: customerId }).first('id', 'salesTeamId', 'erasedAt');
  if (options.lock) customer.forUpdate();
  const row = (await customer) as { id: number; salesTeamId: number | null; erasedAt: Date | null } | undefined;
  if (!row || (staff.salesTeamId !== null && row.salesTeamId !== staff.salesTeamId)) throw new NotFoundError(CUSTOMER_NOT_FOUND);

  const shops = (await whereInScope(
    db('customerShops')
      .join('shops', 'shops.id', 'customerShops.shopId')
      .where('customerShops.customerId', customerId)
      .select(
        'customerShops.shopId',
        'shops.name as shopName',
        'shops.code as shopCode',
        'shops.currency',
        'shops.timeZone',
        'customerShops.status',
        'customerShops.ordersCount',
        'customerShops.totalSpent',
        'customerShops.lastOrderAt',
        'customerShops.createdAt as assignedAt',
      )
      .orderBy([{ column: 'shops.name' }, { column: 'shops.id' }]),
    'customerShops.shopId',
    staff.scope,
  )) as ScopedShop[];
  if (shops.length === 0) throw new NotFoundError(CUSTOMER_NOT_FOUND);
  return { customerId, staff, shops, shopIds: shops.map((s) => s.shopId), erasedAt: row.erasedAt };
}

/** The assignment to `shopId` if it is one the staff member may act on; otherwise 404. */
export function scopedShop(access: CustomerAccess, shopId: number, message = 'We could not find that shop for this customer.'): ScopedShop {
  const shop = access.shops.find((s) => s.shopId === shopId);
  if (!shop) throw new NotFoundError(message);
  return shop;
}

/** An audit entry's common part for a staff action on this customer. */
export function staffActor(access: CustomerAccess, requestId?: string) {
  return { actorType: 'staff' as const, actorId: access.staff.id, customerId: access.customerId, requestId };
}
