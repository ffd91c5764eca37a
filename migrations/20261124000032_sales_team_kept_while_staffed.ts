import type { Knex } from 'knex';

// Frozen. A sales rep in a team sees the customers of that team; a rep without one, every customer
// of their shops. Deleting a team used to set its reps' team to nothing (ON DELETE SET NULL), which
// widened what each of them could see. A team is now kept while staff members are in it; its
// customers still lose the team when it goes.

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE staff_users DROP CONSTRAINT staff_users_sales_team_id_fkey,
      ADD CONSTRAINT staff_users_sales_team_id_fkey FOREIGN KEY (sales_team_id) REFERENCES sales_teams(id) ON DELETE RESTRICT;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE staff_users DROP CONSTRAINT staff_users_sales_team_id_fkey,
      ADD CONSTRAINT staff_users_sales_team_id_fkey FOREIGN KEY (sales_team_id) REFERENCES sales_teams(id) ON DELETE SET NULL;
  `);
}
