import { Router, type Request, type Response } from 'express';
import type { AppContext } from '../../context.js';
import { ConflictError, ValidationError } from '../../lib/errors.js';
import { formatAmountInput } from '../../lib/money.js';
import { enqueueGroupRecompute } from '../../queues/group.queue.js';
import { batchConnectSchema, groupIdSchema, groupSchema, MAX_BATCH_EMAILS, segmentSchema, type GroupRule } from '../../schemas/customer-group.schema.js';
import { parseForm } from '../../schemas/form.js';
import { customerTypes } from '../../schemas/shop-settings.schema.js';
import {
  assertMayManageGroups,
  batchConnect,
  createGroup,
  deleteGroup,
  findGroup,
  groupOptions,
  listGroups,
  mayManageGroups,
  memberCounts,
  membersPage,
  removeMember,
  updateGroup,
  type BatchReport,
  type GroupRecord,
} from '../../services/customer-group.service.js';
import {
  addSegmentCustomers,
  addSegmentGroup,
  createSegment,
  deleteSegment,
  findSegment,
  listSegments,
  removeSegmentCustomer,
  removeSegmentGroup,
  segmentCustomersPage,
  segmentGroups,
  segmentMembersCount,
  updateSegment,
  type SegmentRecord,
} from '../../services/segment.service.js';
import { shopCurrencies } from '../../services/shop.service.js';
import { redirect } from '../login-handler.js';
import { flash, render } from '../render.js';
import { numericParam } from './dashboard-actions.js';

// /admin/groups (SPEC 14): customer groups (F-GRP-2), batch connect (F-GRP-6) and segments
// (F-GRP-3). Plain pages and forms (post/redirect/get); owners and managers change things, sales
// reps and support only look (the services refuse with 403). Members are listed only when they are
// in the staff member's shops (and team); the others are counted.

const BASE = '/admin/groups';

/** A group as its form shows it (money and percentages as typed, the rule as `rule_*` fields). */
function groupFormValues(group: GroupRecord): Record<string, string | boolean> {
  const rule: GroupRule | null = group.rule;
  const values: Record<string, string | boolean> = {
    name: group.name,
    description: group.description,
    kind: group.kind,
    taxExempt: group.taxExempt,
    discountPercent: group.discountPercent ? String(group.discountPercent) : '',
    rule_tags: rule?.tags.join(', ') ?? '',
    rule_tagmode: rule?.tagMode ?? 'all',
    rule_orders_min: rule?.ordersMin === undefined ? '' : String(rule.ordersMin),
    rule_orders_max: rule?.ordersMax === undefined ? '' : String(rule.ordersMax),
    rule_spent_min: rule?.spentMin === undefined ? '' : formatAmountInput(rule.spentMin),
    rule_spent_max: rule?.spentMax === undefined ? '' : formatAmountInput(rule.spentMax),
    rule_spent_currency: rule?.spentCurrency ?? '',
    rule_country: rule?.country.join(', ') ?? '',
    rule_created_from: rule?.createdFrom ?? '',
    rule_created_to: rule?.createdTo ?? '',
  };
  for (const t of customerTypes) values[`rule_type_${t}`] = rule?.type.includes(t) ?? false;
  return values;
}

/** Checkbox values of a posted form as the form shows them again. */
function postedValues(body: unknown): Record<string, string | boolean> {
  const input = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  const values: Record<string, string | boolean> = {};
  for (const [key, value] of Object.entries(input)) if (typeof value === 'string') values[key] = value;
  values.taxExempt = input.taxExempt === 'on';
  for (const t of customerTypes) values[`rule_type_${t}`] = input[`rule_type_${t}`] === 'on';
  return values;
}

const afterParam = (raw: unknown) => (typeof raw === 'string' && /^\d{1,18}$/.test(raw) ? Number(raw) : 0);

export function groupsRouter(ctx: AppContext): Router {
  const router = Router();
  const requestId = (req: Request) => String(req.id);

  router.get('/', async (req, res) => {
    const [groups, segments] = await Promise.all([listGroups(ctx.knex), listSegments(ctx.knex)]);
    render(req, res, 'pages/admin/groups', { groups, segments, mayManage: mayManageGroups(req.staff!) });
  });

  // ---- groups ------------------------------------------------------------------------------------

  // The currencies, for a spent condition's own when the shops sell in several.
  const showGroupForm = async (req: Request, res: Response, locals: { group: GroupRecord | null; values: object; errors?: object; message?: string }, status = 200) =>
    render(req, res, 'pages/admin/group-form', { errors: {}, ...locals, customerTypes, currencies: await shopCurrencies(ctx.knex) }, { status });

  router.get('/new', async (req, res) => {
    assertMayManageGroups(req.staff!);
    await showGroupForm(req, res, { group: null, values: { kind: req.query.kind === 'dynamic' ? 'dynamic' : 'static', rule_tagmode: 'all' } });
  });

  router.post('/new', async (req, res) => {
    assertMayManageGroups(req.staff!);
    let group: GroupRecord;
    try {
      group = await createGroup(ctx.knex, req.staff!, parseForm(groupSchema, req.body), requestId(req));
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      return showGroupForm(req, res, { group: null, values: postedValues(req.body), errors: error.fields, message: error.message }, 422);
    }
    if (group.kind === 'dynamic') await recomputeSoon(req, group);
    flash(req, 'success', group.kind === 'dynamic' ? `The group “${group.name}” was created; its members are being computed.` : `The group “${group.name}” was created.`);
    redirect(req, res, `${BASE}/${group.id}`);
  });

  /** Hands a dynamic group to the `groups` queue; if the queue is down, the worker's sweep finds it later. */
  async function recomputeSoon(req: Request, group: GroupRecord) {
    await enqueueGroupRecompute(ctx.queues.groups, group.id, group.updatedAt).catch((err: Error) => req.log.warn({ err: err.message, groupId: group.id }, 'group recompute enqueue failed; the sweep will pick it up'));
  }

  // ---- segments (before /:groupId) --------------------------------------------------------------

  const showSegmentForm = (req: Request, res: Response, locals: { segment: SegmentRecord | null; values: object; errors?: object; message?: string }, status = 200) =>
    render(req, res, 'pages/admin/segment-form', { errors: {}, ...locals }, { status });
  const segmentIdOf = (req: Request) => numericParam(req.params.segmentId, 'We could not find that segment.');

  router.get('/segments/new', async (req, res) => {
    assertMayManageGroups(req.staff!);
    showSegmentForm(req, res, { segment: null, values: {} });
  });

  router.post('/segments/new', async (req, res) => {
    assertMayManageGroups(req.staff!);
    let segment: SegmentRecord;
    try {
      segment = await createSegment(ctx.knex, req.staff!, parseForm(segmentSchema, req.body), requestId(req));
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      return showSegmentForm(req, res, { segment: null, values: postedValues(req.body), errors: error.fields, message: error.message }, 422);
    }
    flash(req, 'success', `The segment “${segment.name}” was created.`);
    redirect(req, res, `${BASE}/segments/${segment.id}`);
  });

  const showSegment = async (req: Request, res: Response, segmentId: number, extra: { report?: BatchReport; errors?: object; values?: object } = {}, status = 200) => {
    const staff = req.staff!;
    const [segment, groups, customers, allGroups, membersCount] = await Promise.all([
      findSegment(ctx.knex, segmentId),
      segmentGroups(ctx.knex, segmentId),
      segmentCustomersPage(ctx.knex, staff, segmentId, afterParam(req.query.after)),
      groupOptions(ctx.knex),
      segmentMembersCount(ctx.knex, segmentId),
    ]);
    render(req, res, 'pages/admin/segment', { segment, groups, customers, allGroups, membersCount, mayManage: mayManageGroups(staff), after: afterParam(req.query.after), errors: {}, values: {}, ...extra }, { status });
  };

  router.get('/segments/:segmentId', async (req, res) => {
    await showSegment(req, res, segmentIdOf(req));
  });

  router.get('/segments/:segmentId/edit', async (req, res) => {
    assertMayManageGroups(req.staff!);
    const segment = await findSegment(ctx.knex, segmentIdOf(req));
    showSegmentForm(req, res, { segment, values: segment });
  });

  router.post('/segments/:segmentId/edit', async (req, res) => {
    assertMayManageGroups(req.staff!);
    const segment = await findSegment(ctx.knex, segmentIdOf(req));
    try {
      await updateSegment(ctx.knex, req.staff!, segment.id, parseForm(segmentSchema, req.body), requestId(req));
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      return showSegmentForm(req, res, { segment, values: postedValues(req.body), errors: error.fields, message: error.message }, 422);
    }
    flash(req, 'success', 'The segment was saved.');
    redirect(req, res, `${BASE}/segments/${segment.id}`);
  });

  router.post('/segments/:segmentId/delete', async (req, res) => {
    const name = await deleteSegment(ctx.knex, req.staff!, segmentIdOf(req), requestId(req));
    flash(req, 'success', `The segment “${name}” was deleted.`);
    redirect(req, res, BASE);
  });

  router.post('/segments/:segmentId/groups', async (req, res) => {
    const segmentId = segmentIdOf(req);
    assertMayManageGroups(req.staff!);
    try {
      const { groupId } = parseForm(groupIdSchema, req.body);
      await findGroup(ctx.knex, groupId).catch(() => {
        throw new ValidationError({ groupId: 'Choose a group from the list.' });
      });
      const added = await addSegmentGroup(ctx.knex, req.staff!, segmentId, groupId, requestId(req));
      flash(req, 'success', added ? 'The group was added to the segment.' : 'The group was already in the segment.');
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      return showSegment(req, res, segmentId, { errors: error.fields }, 422);
    }
    redirect(req, res, `${BASE}/segments/${segmentId}`);
  });

  router.post('/segments/:segmentId/groups/:groupId/remove', async (req, res) => {
    const segmentId = segmentIdOf(req);
    await removeSegmentGroup(ctx.knex, req.staff!, segmentId, numericParam(req.params.groupId, 'That group is not in this segment.'), requestId(req));
    flash(req, 'success', 'The group was removed from the segment.');
    redirect(req, res, `${BASE}/segments/${segmentId}`);
  });

  router.post('/segments/:segmentId/customers', async (req, res) => {
    const segmentId = segmentIdOf(req);
    assertMayManageGroups(req.staff!);
    let report: BatchReport;
    try {
      report = await addSegmentCustomers(ctx.knex, req.staff!, segmentId, parseForm(batchConnectSchema, req.body).emails, requestId(req));
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      return showSegment(req, res, segmentId, { errors: error.fields, values: postedValues(req.body) }, 422);
    }
    await showSegment(req, res, segmentId, { report });
  });

  router.post('/segments/:segmentId/customers/:customerId/remove', async (req, res) => {
    const segmentId = segmentIdOf(req);
    await removeSegmentCustomer(ctx.knex, req.staff!, segmentId, numericParam(req.params.customerId, 'We could not find that customer in this segment.'), requestId(req));
    flash(req, 'success', 'The customer was removed from the segment.');
    redirect(req, res, `${BASE}/segments/${segmentId}`);
  });

  // ---- one group ---------------------------------------------------------------------------------

  const groupIdOf = (req: Request) => numericParam(req.params.groupId, 'We could not find that group.');

  const showGroup = async (req: Request, res: Response, groupId: number, extra: { report?: BatchReport; errors?: object; values?: object; message?: string } = {}, status = 200) => {
    const staff = req.staff!;
    const after = afterParam(req.query.after);
    const [group, members, counts, currencies] = await Promise.all([
      findGroup(ctx.knex, groupId),
      membersPage(ctx.knex, staff, groupId, after),
      memberCounts(ctx.knex, staff, groupId),
      shopCurrencies(ctx.knex),
    ]);
    render(req, res, 'pages/admin/group', { group, members, counts, currencies, after, maxEmails: MAX_BATCH_EMAILS, mayManage: mayManageGroups(staff), errors: {}, values: {}, ...extra }, { status });
  };

  router.get('/:groupId', async (req, res) => {
    await showGroup(req, res, groupIdOf(req));
  });

  router.get('/:groupId/edit', async (req, res) => {
    assertMayManageGroups(req.staff!);
    const group = await findGroup(ctx.knex, groupIdOf(req));
    await showGroupForm(req, res, { group, values: groupFormValues(group) });
  });

  router.post('/:groupId/edit', async (req, res) => {
    assertMayManageGroups(req.staff!);
    const group = await findGroup(ctx.knex, groupIdOf(req));
    let saved: Awaited<ReturnType<typeof updateGroup>>;
    try {
      saved = await updateGroup(ctx.knex, req.staff!, group.id, parseForm(groupSchema, { ...req.body, kind: group.kind }), requestId(req));
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      return showGroupForm(req, res, { group, values: { ...postedValues(req.body), kind: group.kind }, errors: error.fields, message: error.message }, 422);
    }
    if (saved.group.kind === 'dynamic' && saved.ruleChanged) await recomputeSoon(req, saved.group);
    flash(req, 'success', saved.ruleChanged ? 'The group was saved; its members are being recomputed.' : 'The group was saved.');
    redirect(req, res, `${BASE}/${group.id}`);
  });

  router.post('/:groupId/delete', async (req, res) => {
    const name = await deleteGroup(ctx.knex, req.staff!, groupIdOf(req), requestId(req));
    flash(req, 'success', `The group “${name}” was deleted.`);
    redirect(req, res, BASE);
  });

  router.post('/:groupId/recompute', async (req, res) => {
    assertMayManageGroups(req.staff!);
    const group = await findGroup(ctx.knex, groupIdOf(req));
    if (group.kind !== 'dynamic') throw new ConflictError('Only dynamic groups are computed from a rule.');
    await enqueueGroupRecompute(ctx.queues.groups, group.id, Date.now());
    flash(req, 'success', 'The members are being recomputed.');
    redirect(req, res, `${BASE}/${group.id}`);
  });

  router.post('/:groupId/batch', async (req, res) => {
    const groupId = groupIdOf(req);
    assertMayManageGroups(req.staff!);
    let report: BatchReport;
    try {
      report = await batchConnect(ctx.knex, req.staff!, groupId, parseForm(batchConnectSchema, req.body).emails, requestId(req));
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      return showGroup(req, res, groupId, { errors: error.fields, values: postedValues(req.body), message: error.message }, 422);
    }
    await showGroup(req, res, groupId, { report });
  });

  router.post('/:groupId/members/:customerId/remove', async (req, res) => {
    const groupId = groupIdOf(req);
    await removeMember(ctx.knex, req.staff!, groupId, numericParam(req.params.customerId, 'We could not find that member.'), requestId(req));
    flash(req, 'success', 'The customer was removed from the group.');
    redirect(req, res, `${BASE}/${groupId}`);
  });

  return router;
}
