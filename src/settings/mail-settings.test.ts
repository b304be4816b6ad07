import { describe, expect, it } from 'vitest';
import { mailSettingsInput } from './mail-settings.js';

describe('mailSettingsInput dailyReportTime', () => {
  it('takes any time of day from 00:00 to 23:59:59, and names dailyReportTime for an hour, minute or second past its end', () => {
    for (const dailyReportTime of ['00:00', '23:59', '23:59:59', '09:05:00']) {
      expect(mailSettingsInput.parse({ dailyReportTime }), dailyReportTime).toEqual({ dailyReportTime });
    }
    for (const dailyReportTime of ['24:00', '12:60', '12:00:60', '9:00', '12:00:5']) {
      const result = mailSettingsInput.safeParse({ dailyReportTime });
      expect(result.success, dailyReportTime).toBe(false);
      expect(result.error!.issues.map((issue) => [issue.path.join('.'), issue.message])).toEqual([
        ['dailyReportTime', 'must be a time of day as HH:MM or HH:MM:SS'],
      ]);
    }
  });
});
