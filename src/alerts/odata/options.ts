import { z } from 'zod';
import { anyCase, queryBoolean } from '../../shared/validation.js';
import { FilterSyntaxError } from './filter.js';

/** MAX_SKIP bounds `$skip`, so that it stays a number every database takes. */
export const MAX_SKIP = 10_000_000;

/** MAX_TOP is Orchestrator's cap on `$top` of its lists, Alerts and Settings alike ("the maximum value is 1000"). */
export const MAX_TOP = 1_000;

/** MAX_ORDER_TERMS bounds `$orderby` of every list, as Orchestrator does ("the maximum number of expressions is 5"). */
const MAX_ORDER_TERMS = 5;

/** orderByTerms splits `$orderby` into its terms (none when it is empty), refusing more than MAX_ORDER_TERMS. */
export function orderByTerms(value: string | undefined): string[] {
  const parts = value === undefined || value.trim() === '' ? [] : value.split(',');
  if (parts.length > MAX_ORDER_TERMS) throw new FilterSyntaxError(`at most ${MAX_ORDER_TERMS} $orderby terms`, 0);
  return parts;
}

const FORMAT = /^(application\/)?json\b/i;
const EXPAND = /^\s*\*\s*$/;

/** The system query options every OData list reads besides its own: `$count`, `$expand` and `$format`. */
export const commonListOptions = {
  // .NET reads a boolean in any case (`$count=True`).
  $count: queryBoolean.optional(),
  // Orchestrator's swagger documents $expand on its lists, but AlertDto and SettingsDto have no
  // navigation property: its ASP.NET OData answers `*` as if it were left out (a client passing
  // expand "*" got a 400 here) and refuses a property named, as this does.
  $expand: z
    .string()
    .regex(EXPAND, 'has nothing to expand here (no navigation property): only * is accepted, which changes nothing')
    .meta({ pattern: EXPAND.source })
    .optional(),
  $format: z
    .string()
    .regex(FORMAT, 'must be json: the answer is JSON')
    .meta({ pattern: anyCase(FORMAT) })
    .optional(),
};

/**
 * odataQuery is the query of an OData list reading `options`: another system query option
 * ($search, $expand, $apply…) would be ignored, the whole list then read as what it asked for, so
 * it is refused; options without a $ are the caller's own, as OData has them.
 */
export function odataQuery<T extends z.ZodRawShape>(options: T) {
  const known = Object.keys(options);
  return z
    .object(options)
    .catchall(z.unknown())
    .superRefine((query, ctx) => {
      for (const key of Object.keys(query)) {
        if (key.startsWith('$') && !known.includes(key)) {
          ctx.addIssue({ code: 'custom', path: [key], message: `is not supported here; use ${known.join(', ')}` });
        }
      }
    });
}
