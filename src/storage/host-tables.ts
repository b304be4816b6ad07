/** HostTables are the installation-wide tables that belong to no tenant. */
export interface HostTables {
  /** host_settings holds installation-wide values by key (for example the admin token's hash). */
  host_settings: {
    key: string;
    value: string;
    updated_at: number;
  };
}
