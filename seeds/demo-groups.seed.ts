import type { Knex } from 'knex';

// Demo data for groups and segments (SPEC 15, F-GRP-2/3, F-CUST-5): a static "VIP" group with
// members, a dynamic group (tag friend AND more than 5 orders, members computed here the way the
// `groups` job computes them), a tax-exempt availability group and a segment joining them.
// Works from the customers already seeded; deterministic (lowest ids first).

export async function seedDemoGroups(trx: Knex.Transaction): Promise<void> {
  const [vip, friends, exempt] = (await trx('customerGroups')
    .insert([
      { name: 'VIP', description: 'Our best customers, picked by hand.', kind: 'static', discountPercent: 5 },
      {
        name: 'Loyal friends',
        description: 'Tagged friend and more than 5 orders (recomputed nightly).',
        kind: 'dynamic',
        rule: JSON.stringify({ tags: ['friend'], tagMode: 'all', ordersMin: 6, country: [], type: [] }),
      },
      { name: 'Tax-free institutions', description: 'Availability group: schools and charities buy tax free.', kind: 'static', taxExempt: true },
    ])
    .returning('id')) as Array<{ id: number }>;

  await trx.raw(
    `INSERT INTO customer_group_members (group_id, customer_id, source)
     SELECT ?, id, 'manual' FROM customers WHERE state = 'active' ORDER BY total_spent DESC, id LIMIT 12`,
    [vip!.id],
  );
  await trx.raw(
    `INSERT INTO customer_group_members (group_id, customer_id, source)
     SELECT ?, c.id, 'rule' FROM customers c
      WHERE c.orders_count >= 6 AND EXISTS (SELECT 1 FROM customer_tags t WHERE t.customer_id = c.id AND t.tag = 'friend')`,
    [friends!.id],
  );
  await trx('customerGroups').where({ id: friends!.id }).update({ recomputedAt: trx.fn.now() });
  await trx.raw(
    `INSERT INTO customer_group_members (group_id, customer_id, source)
     SELECT ?, id, 'manual' FROM customers WHERE customer_type = 'B2B' ORDER BY id LIMIT 3`,
    [exempt!.id],
  );

  const [segment] = (await trx('segments').insert({ name: 'Key accounts', description: 'VIPs, loyal friends and a few hand-picked customers.' }).returning('id')) as Array<{ id: number }>;
  await trx('segmentGroups').insert([
    { segmentId: segment!.id, groupId: vip!.id },
    { segmentId: segment!.id, groupId: friends!.id },
  ]);
  await trx.raw(`INSERT INTO segment_customers (segment_id, customer_id) SELECT ?, id FROM customers ORDER BY id LIMIT 2`, [segment!.id]);
}
