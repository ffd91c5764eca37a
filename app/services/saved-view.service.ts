import type { Knex } from 'knex';
import { ValidationError } from '../lib/errors.js';
import { optionalColumns, type OptionalColumn } from '../schemas/customer-list.schema.js';

export interface SavedView {
  id: number;
  name: string;
  queryString: string;
}

/** Named filter + sort + columns combinations of one staff member (F-LIST-4). */
export async function listSavedViews(knex: Knex, staffId: number): Promise<SavedView[]> {
  return knex('savedViews').where({ staffUserId: staffId }).orderBy('name').select('id', 'name', 'queryString');
}

export async function saveView(knex: Knex, staffId: number, name: string, queryString: string): Promise<number> {
  const [row] = await knex('savedViews')
    .insert({ staffUserId: staffId, name, queryString: sanitiseQueryString(queryString) })
    .onConflict(knex.raw('(staff_user_id, lower(name))'))
    .merge({ queryString: sanitiseQueryString(queryString) })
    .returning('id');
  if (!row) throw new ValidationError({ name: 'The view could not be saved.' });
  return row.id as number;
}

export async function deleteView(knex: Knex, staffId: number, viewId: number): Promise<boolean> {
  return (await knex('savedViews').where({ id: viewId, staffUserId: staffId }).delete()) > 0;
}

/** The remembered columns (loaded with the staff principal on every request) that still exist. */
export function rememberedListColumns(stored: readonly string[]): OptionalColumn[] {
  return stored.filter((c): c is OptionalColumn => optionalColumns.includes(c as OptionalColumn));
}

export async function rememberListColumns(knex: Knex, staffId: number, columns: OptionalColumn[]): Promise<void> {
  await knex('staffUsers').where({ id: staffId }).update({ listColumns: columns });
}

/** A saved view keeps what selects customers, never a page position. */
function sanitiseQueryString(queryString: string): string {
  const params = new URLSearchParams(queryString.replace(/^\?/, ''));
  for (const key of ['after', 'before']) params.delete(key);
  return params.toString().slice(0, 2000);
}
