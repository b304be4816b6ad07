import type { Messages } from '../messages.js';

// Japanese has no plural forms: every counted string has only its `_other` form.

/** ja is the Japanese text of the emails. */
export const ja = {
  severity: { Fatal: '致命的', Error: 'エラー', Warn: '警告', Info: '情報', Success: '成功' },
  common: {
    greeting: '{{name}} 様',
    greetingNoName: 'ご担当者様',
    timesIn: '時刻は {{zone}} で表示しています。',
    preferences: 'アラートの設定',
    why: 'このメールは、{{tenant}} のアラートを購読しているため送信されています。',
    sentBy: 'Tocsin から送信',
    moreData_other: 'ほか {{count, number}} 項目',
  },
  field: {
    time: '時刻',
    severity: '重大度',
    component: 'コンポーネント',
    event: 'イベント',
    message: 'メッセージ',
    folder: 'フォルダー',
    process: 'プロセス',
    robot: 'ロボット',
    machine: 'マシン',
    queue: 'キュー',
    job: 'ジョブ',
    count: 'アラート数',
    data: '詳細',
  },
  summary: {
    subject_other: '{{tenant}}: 新しいエラー アラート {{count, number}} 件',
    heading: 'エラーの概要',
    intro_other: '{{start}} から {{end}} までに、致命的またはエラーのアラートが新たに {{count, number}} 件発生しました。',
    catchUp_other: 'Tocsin はしばらく概要を送信できなかったため、このメールは {{count, number}} 回分の期間をまとめています。',
    more_other: 'ほか {{count, number}} 件のアラートはここに表示されていません。',
    seeMore: 'さらに表示',
    unsubscribe: 'エラーの概要の配信を停止',
  },
  daily: {
    subject_other: '{{tenant}}: 日次アラート概要 ({{count, number}} 件)',
    subjectQuiet: '{{tenant}}: 日次アラート概要 (異常なし)',
    heading: 'アラートの概要',
    intro_other: '{{start}} から {{end}} までのアラートは {{count, number}} 件です。',
    quiet: '{{start}} から {{end}} までにアラートはありませんでした。異常はありません。',
    quietWhy: '問題がない日もこのレポートをお送りします。届かない場合は、何らかの問題が発生しています。',
    byEvent: 'イベント別のアラート',
    total: '合計',
    viewAll: 'すべてのアラートを表示',
    unsubscribe: '日次レポートの配信を停止',
  },
  immediate: {
    subject: '{{tenant}}: 致命的なアラート - {{event}}',
    heading: '致命的なアラート',
    intro: '{{time}} に {{tenant}} で致命的なアラートが発生しました。',
    open: 'Tocsin で開く',
    unsubscribe: '致命的なアラートの即時通知を停止',
  },
  test: {
    subject: '{{tenant}}: Tocsin からのテスト メール',
    heading: 'メール設定は正常に機能しています',
    intro: 'このテスト メールは、{{tenant}} のメール設定を確認するために {{time}} に送信されました。',
    settings: 'テストした設定: {{summary}}',
    nothingSaved: 'テスト メールを送信しても設定は保存されません。アラート メールは、設定を保存した後にその設定で送信されます。',
  },
} as const satisfies Messages;
