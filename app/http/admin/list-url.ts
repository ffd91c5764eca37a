import { createHash } from 'node:crypto';
import { LIST_DEFAULTS } from '../../schemas/customer-list.schema.js';

const NOT_COUNTED = ['after', 'before', 'sort', 'dir', 'size', 'cols'];

/**
 * Builds links of the customer list from the current query string: a change of sort, page or
 * filter keeps everything else, so every state of the list is a shareable URL.
 */
export class ListUrl {
  private readonly params: URLSearchParams;

  /** `omitted`: keys of the request that were set aside (they would bring their notice back on every link). */
  constructor(
    private readonly path: string,
    search: string,
    omitted: readonly string[] = [],
  ) {
    // The filter form sends every field, most of them empty or as they are by default: they change
    // nothing, so the links and the address bar leave them out. An empty `cols` does say something
    // (no optional columns).
    this.params = withoutDefaults(new URLSearchParams([...new URLSearchParams(search)].filter(([key, value]) => (value !== '' || key === 'cols') && !omitted.includes(key))));
  }

  /** The list as requested, page included. */
  get href(): string {
    return this.build(this.params);
  }

  /** Sets (or, with undefined, removes) keys; any change but paging starts again at the first page. */
  with(changes: Record<string, string | undefined>): string {
    const params = new URLSearchParams(this.params);
    if (!('after' in changes) && !('before' in changes)) {
      params.delete('after');
      params.delete('before');
    }
    for (const [key, value] of Object.entries(changes)) {
      params.delete(key);
      if (value !== undefined && value !== '') params.set(key, value);
    }
    return this.build(params);
  }

  /** Removes one value of a repeatable key (or the key entirely), e.g. one filter chip. */
  without(key: string, value?: string): string {
    const params = new URLSearchParams(this.params);
    params.delete('after');
    params.delete('before');
    if (value === undefined) params.delete(key);
    else {
      const kept = params.getAll(key).flatMap((v) => v.split(',')).filter((v) => v.trim().toLowerCase() !== value.toLowerCase());
      params.delete(key);
      for (const v of kept) params.append(key, v);
    }
    return this.build(params);
  }

  /**
   * Names which customers the list shows (shop, filters, search), not how (sort, size, columns,
   * page): the id under which the page keeps its count while only the order or the page changes.
   */
  get countKey(): string {
    const params = new URLSearchParams(this.params);
    for (const key of NOT_COUNTED) params.delete(key);
    params.sort();
    return createHash('sha256').update(params.toString()).digest('base64url').slice(0, 16);
  }

  /** The query string without paging. */
  get selection(): string {
    const params = new URLSearchParams(this.params);
    params.delete('after');
    params.delete('before');
    return params.toString();
  }

  /**
   * The list as shown, for saving as a view: its selection with the columns on screen, which come
   * from the Columns menu (remembered, not in the URL) unless the URL names them.
   */
  viewOf(columns: readonly string[]): string {
    const params = new URLSearchParams(this.selection);
    params.set('cols', columns.join(','));
    return params.toString();
  }

  private build(params: URLSearchParams): string {
    const text = withoutDefaults(params).toString();
    return text ? `${this.path}?${text}` : this.path;
  }
}

const DEFAULT_VALUES = Object.entries(LIST_DEFAULTS).map(([key, value]) => [key, String(value)] as const);

function withoutDefaults(params: URLSearchParams): URLSearchParams {
  const kept = new URLSearchParams(params);
  for (const [key, value] of DEFAULT_VALUES) if (kept.getAll(key).length === 1 && kept.get(key) === value) kept.delete(key);
  return kept;
}
