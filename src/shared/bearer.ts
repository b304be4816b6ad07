/**
 * MAX_BEARER_LENGTH is the longest token an `Authorization: Bearer` header may carry: the API reads
 * no longer one, so an admin token set longer could never be used (config.ts refuses it).
 */
export const MAX_BEARER_LENGTH = 512;
