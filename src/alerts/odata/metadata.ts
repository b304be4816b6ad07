/**
 * The OData service description of the Orchestrator-compatible subset: the CSDL document served at
 * `/odata/$metadata`, which every answer's `@odata.context` names, and the service document at
 * `/odata/`. OData clients that read the service first (Power Query's OData.Feed, Simple.OData.Client,
 * Microsoft.OData.Client, PowerShell proxies) load them before any request and check each answer
 * against the types declared here, so they declare exactly what the subset answers and reads.
 */
import type { SettingDto } from '../../settings/orchestrator-settings.js';
import { SEVERITIES } from '../severity.js';
import type { AlertDto } from './dto.js';

/** ODATA_NAMESPACE is Orchestrator's: of its entity types and of the operations its paths call (`Alerts/UiPath.Server.Configuration.OData.MarkAsRead`). */
const ODATA_NAMESPACE = 'UiPath.Server.Configuration.OData';
// The namespace of Orchestrator's enums, as its enum literals in $filter name them (UiPath.Core.Enums.NotificationSeverity'Error').
const ENUMS = 'UiPath.Core.Enums';
const SEVERITY = `${ENUMS}.NotificationSeverity`;

/** EdmProperty is a property's Edm type and whether it may be null (CSDL's default is nullable). */
interface EdmProperty {
  readonly type: string;
  readonly nullable?: boolean;
}

const TEXT: EdmProperty = { type: 'Edm.String', nullable: false };

// Keyed by AlertDto's and SettingDto's own fields, so that a field added to an answer must be declared here.
const ALERT_DTO: Record<keyof AlertDto, EdmProperty> = {
  NotificationName: TEXT,
  Data: TEXT,
  Component: TEXT,
  Severity: { type: SEVERITY, nullable: false },
  CreationTime: { type: 'Edm.DateTimeOffset', nullable: false },
  State: { type: `${ENUMS}.NotificationState`, nullable: false },
  UserNotificationId: { type: 'Edm.Guid', nullable: false },
  DeepLinkRelativeUrl: TEXT,
  Id: { type: 'Edm.Guid', nullable: false },
};

// Value and Scope nullable as Orchestrator's SettingsDto has them: UpdateBulk reads only Name and Value.
const SETTINGS_DTO: Record<keyof SettingDto, EdmProperty> = {
  Id: TEXT,
  Name: TEXT,
  Value: { type: 'Edm.String' },
  Scope: { type: `${ENUMS}.ConfigurationScope` },
};

// API.md: all four required.
const PROCESS_ALERT_DTO: Record<string, EdmProperty> = {
  Message: TEXT,
  Severity: { type: SEVERITY, nullable: false },
  ProcessName: TEXT,
  RobotName: TEXT,
};

// Host and Port required, as Orchestrator's; the rest as the form sends them, EnableSsl left out settled from the saved server.
const SMTP_SETTING_MODEL: Record<string, EdmProperty> = {
  Host: TEXT,
  Port: { type: 'Edm.Int32', nullable: false },
  UserName: { type: 'Edm.String' },
  Password: { type: 'Edm.String' },
  Domain: { type: 'Edm.String' },
  EnableSsl: { type: 'Edm.Boolean' },
  UseDefaultCredentials: { type: 'Edm.Boolean' },
  DefaultFromAddress: { type: 'Edm.String' },
  DefaultFromDisplayName: { type: 'Edm.String' },
};

/** typed is a Property or Parameter element of a name and an EdmProperty. */
const typed = (element: 'Property' | 'Parameter', name: string, p: EdmProperty) =>
  `<${element} Name="${name}" Type="${p.type}"${p.nullable === false ? ' Nullable="false"' : ''}/>`;

const properties = (of: Record<string, EdmProperty>) =>
  Object.entries(of)
    .map(([name, p]) => typed('Property', name, p))
    .join('');

const entityType = (name: string, of: Record<string, EdmProperty>) =>
  `<EntityType Name="${name}"><Key><PropertyRef Name="Id"/></Key>${properties(of)}</EntityType>`;

const enumType = (name: string, members: readonly string[]) =>
  `<EnumType Name="${name}">${members.map((member, value) => `<Member Name="${member}" Value="${value}"/>`).join('')}</EnumType>`;

/** bound is an action or function bound to a collection of `entity` (as Orchestrator binds them), its parameters after the binding one. */
const bound = (kind: 'Action' | 'Function', name: string, entity: string, parameters: Record<string, EdmProperty>, returns?: string) => {
  const binding = typed('Parameter', 'bindingParameter', { type: `Collection(${ODATA_NAMESPACE}.${entity})` });
  const rest = Object.entries(parameters).map(([parameter, p]) => typed('Parameter', parameter, p));
  const returnType = returns ? `<ReturnType Type="${returns}" Nullable="false"/>` : '';
  return `<${kind} Name="${name}" IsBound="true">${binding}${rest.join('')}${returnType}</${kind}>`;
};

/** ENTITY_SETS are the subset's entity sets and the types of their entities. */
const ENTITY_SETS = { Alerts: 'AlertDto', Settings: 'SettingsDto' } as const;

/**
 * ODATA_METADATA is the CSDL (OData 4, EDMX XML) of the subset: the Alerts and Settings entity sets,
 * the GetUnreadCount function and the MarkAsRead, RaiseProcessAlert, UpdateBulk and
 * VerifySmtpSetting actions bound to them, with the enums Severity, State and Scope are answered in.
 * The same for every tenant: it describes the service, never a tenant's data.
 */
export const ODATA_METADATA = [
  '<?xml version="1.0" encoding="utf-8"?>',
  '<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx"><edmx:DataServices>',
  `<Schema Namespace="${ENUMS}" xmlns="http://docs.oasis-open.org/odata/ns/edm">`,
  enumType('NotificationSeverity', SEVERITIES),
  enumType('NotificationState', ['Unread', 'Read']),
  enumType('ConfigurationScope', ['Application', 'Tenant', 'User', 'All']),
  '</Schema>',
  `<Schema Namespace="${ODATA_NAMESPACE}" xmlns="http://docs.oasis-open.org/odata/ns/edm">`,
  entityType('AlertDto', ALERT_DTO),
  entityType('SettingsDto', SETTINGS_DTO),
  `<ComplexType Name="ProcessAlertDto">${properties(PROCESS_ALERT_DTO)}</ComplexType>`,
  `<ComplexType Name="SmtpSettingModel">${properties(SMTP_SETTING_MODEL)}</ComplexType>`,
  bound('Function', 'GetUnreadCount', 'AlertDto', {}, 'Edm.Int64'),
  bound('Action', 'MarkAsRead', 'AlertDto', { ids: { type: 'Collection(Edm.Guid)', nullable: false } }, 'Edm.Int64'),
  bound('Action', 'RaiseProcessAlert', 'AlertDto', { processAlert: { type: `${ODATA_NAMESPACE}.ProcessAlertDto`, nullable: false } }),
  bound('Action', 'UpdateBulk', 'SettingsDto', { settings: { type: `Collection(${ODATA_NAMESPACE}.SettingsDto)`, nullable: false } }),
  bound('Action', 'VerifySmtpSetting', 'SettingsDto', {
    sendTo: { type: 'Edm.String' },
    smtpSettingModel: { type: `${ODATA_NAMESPACE}.SmtpSettingModel`, nullable: false },
  }),
  '<EntityContainer Name="Container">',
  ...Object.entries(ENTITY_SETS).map(([set, type]) => `<EntitySet Name="${set}" EntityType="${ODATA_NAMESPACE}.${type}"/>`),
  '</EntityContainer>',
  '</Schema>',
  '</edmx:DataServices></edmx:Edmx>',
].join('\n');

/** ServiceDocument is OData's service document: the context and the entity sets a client may read. */
export interface ServiceDocument {
  '@odata.context': string;
  value: { name: string; kind: 'EntitySet'; url: string }[];
}

/** metadataUrl is the address of ODATA_METADATA on the server at `publicUrl`, which `@odata.context` names (`…/$metadata#Alerts`). */
export function metadataUrl(publicUrl: string): string {
  return `${publicUrl}/odata/$metadata`;
}

/** serviceDocument is the service document of the subset served at `publicUrl`. */
export function serviceDocument(publicUrl: string): ServiceDocument {
  return {
    '@odata.context': metadataUrl(publicUrl),
    value: Object.keys(ENTITY_SETS).map((name) => ({ name, kind: 'EntitySet', url: name })),
  };
}
