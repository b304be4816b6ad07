/** MuteTables are the tenant mutes and the users' snoozes of alert emails. */
export interface MuteTables {
  alert_mutes: {
    /** UUIDv7. */
    id: string;
    tenant_id: string;
    /** `tenant` (everyone's emails) or `user` (a snooze: the owner's only). */
    scope: string;
    /** The snoozing user for a `user` mute, else null. */
    owner_id: string | null;
    /** JSON `{component?, event?, process?, robot?, queue?}`: an alert matches when it has every value given. */
    match: string;
    /** Epoch ms: the mute ends then. */
    until: number;
    created_by_id: string;
    created_by_name: string;
    created_at: number;
    /** When it was lifted before its end, else null. */
    lifted_at: number | null;
  };
}
