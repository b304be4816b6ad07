/** AccessTables are the rows of tenants, people, roles, groups, tokens and sessions. */
export interface AccessTables {
  tenants: {
    id: string;
    name: string;
    display_name: string;
    time_zone: string;
    language: string;
    retention_days: number;
    created_at: number;
  };
  users: {
    id: string;
    tenant_id: string;
    email: string;
    /** The address lower-cased, so that uniqueness ignores case. */
    email_key: string;
    name: string;
    language: string | null;
    time_zone: string | null;
    active: number;
    password_hash: string | null;
    created_at: number;
    updated_at: number;
  };
  roles: {
    id: string;
    tenant_id: string;
    name: string;
    /** JSON array of permission names. */
    permissions: string;
    built_in: number;
  };
  user_roles: { user_id: string; role_id: string };
  groups: {
    id: string;
    tenant_id: string;
    name: string;
    email: string | null;
    language: string | null;
    expand_members: number;
    created_at: number;
  };
  group_members: { group_id: string; user_id: string };
  group_roles: { group_id: string; role_id: string };
  api_tokens: {
    id: string;
    tenant_id: string;
    user_id: string;
    name: string;
    /** SHA-256 of the token; the token itself is shown once and never stored. */
    token_hash: string;
    created_at: number;
  };
  sessions: {
    /** SHA-256 of the cookie value. */
    id_hash: string;
    /** Null for the host administrator's console session. */
    tenant_id: string | null;
    user_id: string | null;
    csrf_token: string;
    created_at: number;
    expires_at: number;
  };
}
