/** PreferenceRow is the explicit alert preferences of one user or group; null inherits. */
export interface PreferenceRow {
  owner_id: string;
  tenant_id: string;
  /** JSON object: component or event name → true/false. */
  subscriptions: string;
  ten_minute_summary: number | null;
  daily_report: number | null;
  fatal_immediately: number | null;
  updated_at: number;
}

/** PreferenceTables keep only what users and groups set explicitly, never a row per event. */
export interface PreferenceTables {
  user_alert_preferences: PreferenceRow;
  group_alert_preferences: PreferenceRow;
}
