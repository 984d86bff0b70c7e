import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { type AutomationBudgetStore, type BudgetState, budgetStateSchema } from './budget';
import { type Incident, type IncidentStore, incidentSchema, isPrincipalLink } from './incidents';

/**
 * Incidents and the automation budget in the state table (pk, sk; TTL on
 * `expiresAt`). The table is closed to ReadOnlyAccess (an explicit Deny on reads
 * and its own KMS key), which matters: an incident holds the approval's task token.
 *
 *   incident#<id>      / incident   the incident (JSON in `body`, `version`)
 *   incident-link#<l>  / link       which incident a principal, key, session or address belongs to
 *   budget#automatic   / budget     the automation budget's spending
 *
 * Every write is conditional on the version read (optimistic concurrency), and a
 * new incident claims its principal links in the same transaction: two
 * executions deciding at once for one principal cannot both open an incident.
 */

/** How long an incident is kept after its last finding. */
const KEEP_DAYS = 400;
const expiresAt = (iso: string) => Math.floor(Date.parse(iso) / 1000) + KEEP_DAYS * 86_400;

const incidentKey = (id: string) => ({ pk: `incident#${id}`, sk: 'incident' });
const linkKey = (link: string) => ({ pk: `incident-link#${link}`, sk: 'link' });
const BUDGET_KEY = { pk: 'budget#automatic', sk: 'budget' };

export class IncidentStoreError extends Error {
  override readonly name = 'IncidentStoreError';
}

function parseBody<T>(
  body: unknown,
  schema: { safeParse(v: unknown): { success: boolean; data?: T; error?: { message: string } } },
  where: string,
): T {
  let json: unknown;
  try {
    json = JSON.parse(String(body));
  } catch (error) {
    throw new IncidentStoreError(`${where} is not JSON: ${(error as Error).message}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new IncidentStoreError(`${where} is malformed: ${parsed.error?.message}`);
  return parsed.data as T;
}

export class DynamoIncidentStore implements IncidentStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async find(links: readonly string[], since: Date): Promise<Incident | undefined> {
    const found: { incidentId: string; lastSeen: string }[] = [];
    for (const link of links) {
      const item = (await this.doc.send(new GetCommand({ TableName: this.table, Key: linkKey(link) }))).Item;
      if (item && typeof item.incidentId === 'string' && typeof item.lastSeen === 'string')
        found.push({ incidentId: item.incidentId, lastSeen: item.lastSeen });
    }
    const open = found
      .filter((l) => Date.parse(l.lastSeen) >= since.getTime())
      .sort((a, b) => Date.parse(b.lastSeen) - Date.parse(a.lastSeen));
    return open[0] ? this.load(open[0].incidentId) : undefined;
  }

  async load(id: string): Promise<Incident | undefined> {
    const item = (await this.doc.send(new GetCommand({ TableName: this.table, Key: incidentKey(id) }))).Item;
    if (!item) return undefined;
    const incident = parseBody<Incident>(item.body, incidentSchema, `incident ${id} in ${this.table}`);
    return { ...incident, version: Number(item.version ?? 0) };
  }

  async save(incident: Incident, since: Date, { relink = true } = {}): Promise<boolean> {
    const next = { ...incident, version: incident.version + 1 };
    const linkItems = (relink ? incident.links : []).map((link) => ({
      Put: {
        TableName: this.table,
        Item: {
          ...linkKey(link),
          incidentId: incident.id,
          // One format, so the condition's string comparison orders times.
          lastSeen: new Date(incident.lastSeen).toISOString(),
          expiresAt: expiresAt(incident.lastSeen),
        },
        // One open incident per principal; keys, sessions and addresses follow the latest.
        ...(isPrincipalLink(link)
          ? {
              ConditionExpression: 'attribute_not_exists(pk) OR incidentId = :id OR lastSeen < :since',
              ExpressionAttributeValues: { ':id': incident.id, ':since': since.toISOString() },
            }
          : {}),
      },
    }));
    try {
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.table,
                Item: {
                  ...incidentKey(incident.id),
                  body: JSON.stringify(next),
                  version: next.version,
                  expiresAt: expiresAt(incident.lastSeen),
                },
                ConditionExpression:
                  incident.version === 0 ? 'attribute_not_exists(pk)' : 'version = :version',
                ...(incident.version === 0
                  ? {}
                  : { ExpressionAttributeValues: { ':version': incident.version } }),
              },
            },
            // A transaction holds 100 items: an incident's links beyond are not indexed.
            ...linkItems.slice(0, 99),
          ],
        }),
      );
      return true;
    } catch (error) {
      // Canceled for a condition: someone else wrote first, and the caller reads again.
      if (
        error instanceof TransactionCanceledException &&
        (error.CancellationReasons ?? []).some((r) => r.Code === 'ConditionalCheckFailed')
      )
        return false;
      throw error;
    }
  }
}

export class DynamoBudgetStore implements AutomationBudgetStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async load(): Promise<BudgetState> {
    const item = (await this.doc.send(new GetCommand({ TableName: this.table, Key: BUDGET_KEY }))).Item;
    if (!item) return { spent: [], version: 0 };
    const state = parseBody<BudgetState>(
      item.body,
      budgetStateSchema,
      `the automation budget in ${this.table}`,
    );
    return { ...state, version: Number(item.version ?? 0) };
  }

  async save(state: BudgetState): Promise<boolean> {
    const version = state.version + 1;
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...BUDGET_KEY, body: JSON.stringify({ ...state, version }), version },
          ConditionExpression: state.version === 0 ? 'attribute_not_exists(pk)' : 'version = :version',
          ...(state.version === 0 ? {} : { ExpressionAttributeValues: { ':version': state.version } }),
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}
