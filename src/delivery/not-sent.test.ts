import { describe, expect, it } from 'vitest';
import { NOT_SENT_TEXT, type NotSentReason, notSentReasonOf } from './not-sent.js';

describe('notSentReasonOf', () => {
  it('reads each of Tocsin’s reasons from the error recorded after its stage', () => {
    for (const [reason, text] of Object.entries(NOT_SENT_TEXT)) expect(notSentReasonOf(`render: ${text}`)).toBe(reason as NotSentReason);
    expect(notSentReasonOf('data: 554 rejected')).toBeNull();
  });

  it('reads a notice refused in the wording of an earlier version, which said every moved administrator lost it, as the same reason', () => {
    // Notices follow an administrator to a new address since 9d0fbca2: the reason now says so of older notices only,
    // and the delivery log still holds rows recorded in the former words.
    expect(NOT_SENT_TEXT['not-a-mail-admin']).toContain('for a notice queued before an upgrade, changed address');
    const former = 'not sent: since this notice was queued, the administrator was deleted, deactivated, lost the Settings.Edit permission or changed address';
    expect(notSentReasonOf(`render: ${former}`)).toBe('not-a-mail-admin');
  });
});
