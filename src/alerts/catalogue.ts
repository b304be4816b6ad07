import { DEFAULT_LANGUAGE, type Language } from '../i18n/languages.js';
import type { Severity } from './severity.js';

/** Names of one thing in every supported language. */
export type Localized = Readonly<Record<Language, string>>;

/** CatalogueComponent is an area that raises alerts (Orchestrator's Component enum, plus the UI's). */
export interface CatalogueComponent {
  readonly name: string;
  readonly displayName: Localized;
}

/** CatalogueEvent is a known alert event: its component, default severity and display names. */
export interface CatalogueEvent {
  readonly name: string;
  readonly component: string;
  readonly defaultSeverity: Severity;
  readonly displayName: Localized;
}

/** CUSTOM_EVENT is the event of custom alerts (the Raise Alert activity and RaiseProcessAlert). */
export const CUSTOM_EVENT = 'Process.RaiseAlert';

const l = (en: string, fr: string, de: string, es: string, ja: string): Localized => Object.freeze({ en, fr, de, es, ja });

/**
 * COMPONENTS lists Orchestrator's Component enum (2018.2, 2020.10 and the 2024 cloud additions)
 * and the two UI-only toggles (Triggers, Actions), in the order the preferences page shows them.
 */
export const COMPONENTS: readonly CatalogueComponent[] = Object.freeze([
  { name: 'Robots', displayName: l('Robots', 'Robots', 'Roboter', 'Robots', 'ロボット') },
  { name: 'Jobs', displayName: l('Jobs', 'Tâches', 'Aufträge', 'Trabajos', 'ジョブ') },
  { name: 'Transactions', displayName: l('Transactions', 'Transactions', 'Transaktionen', 'Transacciones', 'トランザクション') },
  { name: 'Queues', displayName: l('Queues', 'Files d’attente', 'Warteschlangen', 'Colas', 'キュー') },
  { name: 'Schedules', displayName: l('Schedules', 'Planifications', 'Zeitpläne', 'Programaciones', 'スケジュール') },
  { name: 'Triggers', displayName: l('Triggers', 'Déclencheurs', 'Trigger', 'Desencadenadores', 'トリガー') },
  { name: 'Tasks', displayName: l('Tasks', 'Tâches d’Action Center', 'Aufgaben', 'Tareas', 'タスク') },
  { name: 'Actions', displayName: l('Actions', 'Actions', 'Aktionen', 'Acciones', 'アクション') },
  { name: 'Process', displayName: l('Process', 'Processus', 'Prozess', 'Proceso', 'プロセス') },
  { name: 'Folders', displayName: l('Folders', 'Dossiers', 'Ordner', 'Carpetas', 'フォルダー') },
  {
    name: 'PersonalWorkspaces',
    displayName: l(
      'Personal workspaces',
      'Espaces de travail personnels',
      'Persönliche Arbeitsbereiche',
      'Espacios de trabajo personales',
      '個人用ワークスペース',
    ),
  },
  {
    name: 'TestAutomation',
    displayName: l('Test automation', 'Automatisation des tests', 'Testautomatisierung', 'Automatización de pruebas', 'テストの自動化'),
  },
  { name: 'Insights', displayName: l('Insights', 'Insights', 'Insights', 'Insights', 'Insights') },
  { name: 'CloudRobots', displayName: l('Cloud robots', 'Robots cloud', 'Cloud-Roboter', 'Robots en la nube', 'クラウド ロボット') },
  {
    name: 'ConnectedTriggers',
    displayName: l('Connected triggers', 'Déclencheurs connectés', 'Verbundene Trigger', 'Desencadenadores conectados', '接続済みトリガー'),
  },
  { name: 'Serverless', displayName: l('Serverless', 'Serverless', 'Serverless', 'Sin servidor', 'サーバーレス') },
  { name: 'Export', displayName: l('Export', 'Exportation', 'Export', 'Exportación', 'エクスポート') },
  // Tocsin's own alerts about the tenant's alerting, e.g. its mail server refusing the alert emails.
  { name: 'Tocsin', displayName: l('Tocsin', 'Tocsin', 'Tocsin', 'Tocsin', 'Tocsin') },
]);

/**
 * EVENTS is the reconstruction of Orchestrator's events per component (reference, section 2).
 * Names that the reference reads in a source are Orchestrator's own; the few it only infers
 * (job stopped, SLA, trigger disabled, task assignment) follow the same Component.Subject.Change
 * pattern. Custom alerts default to Success, as Orchestrator 2019 documents. It also holds the
 * events Tocsin's own Orchestrator webhook mapping raises (job completed, suspended and resumed,
 * queue item abandoned, task assignment changed, custom event): outside it, no preferences page
 * listed them and every email showed them by their code.
 */
export const EVENTS: readonly CatalogueEvent[] = Object.freeze([
  {
    name: 'Robot.StatusChanged.Offline',
    component: 'Robots',
    defaultSeverity: 'Fatal',
    displayName: l('Robot offline', 'Robot hors ligne', 'Roboter offline', 'Robot sin conexión', 'ロボットがオフライン'),
  },
  {
    name: 'Robot.StatusChanged.Offline.Attended',
    component: 'Robots',
    defaultSeverity: 'Fatal',
    displayName: l(
      'Attended robot offline',
      'Robot attended hors ligne',
      'Beaufsichtigter Roboter offline',
      'Robot atendido sin conexión',
      'アテンド型ロボットがオフライン',
    ),
  },
  {
    name: 'Robot.StatusChanged.NotResponding',
    component: 'Robots',
    defaultSeverity: 'Error',
    displayName: l('Robot not responding', 'Le robot ne répond pas', 'Roboter antwortet nicht', 'El robot no responde', 'ロボットが応答しません'),
  },
  {
    name: 'Robot.StatusChanged.Available',
    component: 'Robots',
    defaultSeverity: 'Info',
    displayName: l('Robot available', 'Robot disponible', 'Roboter verfügbar', 'Robot disponible', 'ロボットが利用可能'),
  },
  {
    name: 'Process.JobExecution.Faulted',
    component: 'Jobs',
    defaultSeverity: 'Error',
    displayName: l(
      'Job execution faulted',
      'Échec de l’exécution de la tâche',
      'Auftragsausführung fehlgeschlagen',
      'Error en la ejecución del trabajo',
      'ジョブの実行が失敗しました',
    ),
  },
  {
    name: 'Process.JobExecution.NotCreated',
    component: 'Jobs',
    defaultSeverity: 'Error',
    displayName: l('Job not created', 'Tâche non créée', 'Auftrag nicht erstellt', 'Trabajo no creado', 'ジョブが作成されませんでした'),
  },
  {
    name: 'Process.JobExecution.Stopped',
    component: 'Jobs',
    defaultSeverity: 'Warn',
    displayName: l('Job stopped', 'Tâche arrêtée', 'Auftrag angehalten', 'Trabajo detenido', 'ジョブが停止しました'),
  },
  // The jobs' other changes that an Orchestrator webhook source may be told to alert on (off by default).
  {
    name: 'Job.Completed',
    component: 'Jobs',
    defaultSeverity: 'Success',
    displayName: l('Job completed', 'Tâche terminée', 'Auftrag abgeschlossen', 'Trabajo completado', 'ジョブが完了しました'),
  },
  {
    name: 'Job.Suspended',
    component: 'Jobs',
    defaultSeverity: 'Info',
    displayName: l('Job suspended', 'Tâche suspendue', 'Auftrag ausgesetzt', 'Trabajo suspendido', 'ジョブが中断されました'),
  },
  {
    name: 'Job.Resumed',
    component: 'Jobs',
    defaultSeverity: 'Info',
    displayName: l('Job resumed', 'Tâche reprise', 'Auftrag fortgesetzt', 'Trabajo reanudado', 'ジョブが再開されました'),
  },
  {
    name: 'Queue.TransactionStatus.FailedWithApplicationException',
    component: 'Transactions',
    defaultSeverity: 'Error',
    displayName: l(
      'Queue item failed (application exception)',
      'Échec de l’élément de file (exception d’application)',
      'Warteschlangenelement fehlgeschlagen (Anwendungsausnahme)',
      'Error del elemento de cola (excepción de aplicación)',
      'キュー アイテムが失敗 (アプリケーション例外)',
    ),
  },
  {
    name: 'Queue.TransactionStatus.FailedWithBusinessException',
    component: 'Transactions',
    defaultSeverity: 'Warn',
    displayName: l(
      'Queue item failed (business exception)',
      'Échec de l’élément de file (exception métier)',
      'Warteschlangenelement fehlgeschlagen (Geschäftsausnahme)',
      'Error del elemento de cola (excepción de negocio)',
      'キュー アイテムが失敗 (ビジネス例外)',
    ),
  },
  {
    name: 'Queue.TransactionStatus.Abandoned',
    component: 'Transactions',
    defaultSeverity: 'Warn',
    displayName: l(
      'Queue item abandoned',
      'Élément de file abandonné',
      'Warteschlangenelement abgebrochen',
      'Elemento de cola abandonado',
      'キュー アイテムが放棄されました',
    ),
  },
  {
    name: 'Queue.TransactionStatus.ReviewerAssigned',
    component: 'Transactions',
    defaultSeverity: 'Info',
    displayName: l(
      'Reviewer assigned to a failed item',
      'Réviseur affecté à un élément en échec',
      'Prüfer für fehlgeschlagenes Element zugewiesen',
      'Revisor asignado a un elemento con error',
      '失敗したアイテムにレビュー担当者が割り当て済み',
    ),
  },
  {
    name: 'Queue.Sla.AtRisk',
    component: 'Queues',
    defaultSeverity: 'Warn',
    displayName: l(
      'Queue items at risk of missing their SLA',
      'Éléments de file proches du dépassement du SLA',
      'Warteschlangenelemente mit gefährdetem SLA',
      'Elementos de cola en riesgo de incumplir el SLA',
      'SLA 違反のおそれがあるキュー アイテム',
    ),
  },
  {
    name: 'Queue.Sla.Breached',
    component: 'Queues',
    defaultSeverity: 'Error',
    displayName: l(
      'Queue items out of SLA',
      'Éléments de file hors SLA',
      'Warteschlangenelemente außerhalb des SLA',
      'Elementos de cola fuera del SLA',
      'SLA 外のキュー アイテム',
    ),
  },
  {
    name: 'Schedule.Misfired',
    component: 'Schedules',
    defaultSeverity: 'Error',
    displayName: l('Trigger misfired', 'Déclenchement manqué', 'Trigger nicht ausgelöst', 'El desencadenador no se activó', 'トリガーの起動に失敗しました'),
  },
  {
    name: 'Schedule.FailedToExecute',
    component: 'Schedules',
    defaultSeverity: 'Error',
    displayName: l(
      'Schedule failed to execute',
      'Échec de l’exécution de la planification',
      'Zeitplan konnte nicht ausgeführt werden',
      'No se pudo ejecutar la programación',
      'スケジュールの実行に失敗しました',
    ),
  },
  {
    name: 'Schedule.NoJobCreated',
    component: 'Schedules',
    defaultSeverity: 'Error',
    displayName: l(
      'No job created by the trigger',
      'Aucune tâche créée par le déclencheur',
      'Kein Auftrag durch den Trigger erstellt',
      'El desencadenador no creó ningún trabajo',
      'トリガーでジョブが作成されませんでした',
    ),
  },
  {
    name: 'Schedule.MaxNumberOfJobsAlreadyExist',
    component: 'Schedules',
    defaultSeverity: 'Error',
    displayName: l(
      'Maximum number of jobs already reached',
      'Nombre maximal de tâches déjà atteint',
      'Maximale Anzahl an Aufträgen bereits erreicht',
      'Ya se alcanzó el número máximo de trabajos',
      'ジョブの最大数に既に達しています',
    ),
  },
  {
    name: 'Trigger.DisabledDueToConsecutiveFailures',
    component: 'Triggers',
    defaultSeverity: 'Error',
    displayName: l(
      'Trigger disabled after consecutive failures',
      'Déclencheur désactivé après des échecs consécutifs',
      'Trigger nach wiederholten Fehlern deaktiviert',
      'Desencadenador deshabilitado tras errores consecutivos',
      '連続した失敗によりトリガーが無効化されました',
    ),
  },
  {
    name: 'Task.Assigned',
    component: 'Tasks',
    defaultSeverity: 'Info',
    displayName: l('Task assigned', 'Action affectée', 'Aufgabe zugewiesen', 'Tarea asignada', 'タスクが割り当てられました'),
  },
  {
    name: 'Task.Unassigned',
    component: 'Tasks',
    defaultSeverity: 'Info',
    displayName: l('Task unassigned', 'Action désaffectée', 'Aufgabenzuweisung aufgehoben', 'Tarea desasignada', 'タスクの割り当てが解除されました'),
  },
  {
    name: 'Task.Reassigned',
    component: 'Tasks',
    defaultSeverity: 'Info',
    displayName: l('Task reassigned', 'Action réaffectée', 'Aufgabe neu zugewiesen', 'Tarea reasignada', 'タスクが再割り当てされました'),
  },
  {
    name: 'Task.AssignmentChanged',
    component: 'Tasks',
    defaultSeverity: 'Info',
    displayName: l(
      'Task assignment changed',
      'Affectation de l’action modifiée',
      'Aufgabenzuweisung geändert',
      'Asignación de tarea cambiada',
      'タスクの割り当てが変更されました',
    ),
  },
  {
    name: 'Mail.DeliveryFailing',
    component: 'Tocsin',
    defaultSeverity: 'Error',
    displayName: l(
      'Alert emails failing',
      'Échec des e-mails d’alerte',
      'Alarm-E-Mails schlagen fehl',
      'Fallan los correos de alerta',
      'アラート メールの送信に失敗',
    ),
  },
  {
    name: CUSTOM_EVENT,
    component: 'Process',
    defaultSeverity: 'Success',
    displayName: l('Custom alert', 'Alerte personnalisée', 'Benutzerdefinierter Alarm', 'Alerta personalizada', 'カスタム アラート'),
  },
  // An Orchestrator webhook of type `custom`, which a workflow sends with a severity of its own.
  {
    name: 'Process.Custom',
    component: 'Process',
    defaultSeverity: 'Info',
    displayName: l('Custom event', 'Événement personnalisé', 'Benutzerdefiniertes Ereignis', 'Evento personalizado', 'カスタム イベント'),
  },
]);

const COMPONENT_BY_LOWER = new Map(COMPONENTS.map((c) => [c.name.toLowerCase(), c]));
const EVENT_BY_LOWER = new Map(EVENTS.map((e) => [e.name.toLowerCase(), e]));
// Robots send the canonical names: found as given, without lower-casing a copy of each.
const COMPONENT_BY_NAME = new Map(COMPONENTS.map((c) => [c.name, c]));
const EVENT_BY_NAME = new Map(EVENTS.map((e) => [e.name, e]));

/** findComponent looks a component up by name, ignoring case. */
export function findComponent(name: string): CatalogueComponent | undefined {
  return COMPONENT_BY_NAME.get(name) ?? COMPONENT_BY_LOWER.get(name.toLowerCase());
}

/** findEvent looks a known event up by name, ignoring case; unknown events are undefined. */
export function findEvent(name: string): CatalogueEvent | undefined {
  return EVENT_BY_NAME.get(name) ?? EVENT_BY_LOWER.get(name.toLowerCase());
}

/**
 * eventDisplayName is an event's name for people in a language; an event outside the catalogue
 * is shown by its own name, as is any language Tocsin does not speak (English then).
 */
export function eventDisplayName(event: string, language: string): string {
  const known = findEvent(event);
  if (!known) return event;
  return known.displayName[language as Language] ?? known.displayName[DEFAULT_LANGUAGE];
}

/** componentDisplayName is a component's name for people in a language, or the name itself. */
export function componentDisplayName(component: string, language: string): string {
  const known = findComponent(component);
  if (!known) return component;
  return known.displayName[language as Language] ?? known.displayName[DEFAULT_LANGUAGE];
}
