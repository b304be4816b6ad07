/**
 * ChangeCount counts the changes made through this process's API to who gets which alert email
 * and how (users, groups, roles, preferences, mutes, unsubscribes, a tenant or its mail settings),
 * per tenant and for all of them (a host change). The outbox's worker reads it when an email
 * rendered a while ago takes a connection (a flood waiting for a slow server): a change of its
 * tenant since, and the email goes back to the queue, to be written for the world as it is then. On PostgreSQL the changes made through another
 * process are counted too, as they are told (notifyChanges).
 */
export class ChangeCount {
  #all = 0;
  readonly #byTenant = new Map<string, number>();

  /** of is the count of changes that concern a tenant's emails. */
  of(tenantId: string): number {
    return this.#all + (this.#byTenant.get(tenantId) ?? 0);
  }

  /** bump counts a change of one tenant, or of every tenant when none is named. */
  bump(tenantId?: string): void {
    if (tenantId === undefined) this.#all += 1;
    else this.#byTenant.set(tenantId, (this.#byTenant.get(tenantId) ?? 0) + 1);
  }
}
