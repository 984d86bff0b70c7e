import {
  type AthenaClient,
  GetQueryExecutionCommand,
  type GetQueryExecutionCommandOutput,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { ListObjectsV2Command, type ListObjectsV2CommandOutput, type S3Client } from '@aws-sdk/client-s3';
import type { QueryEngine, QueryState, QueryStatus, ResultPage } from './query';

/** The AWS adapters of layers/athena: Athena for the query, S3 for the organization's accounts. */

function describeError(error: unknown, what: string): Error {
  const e = error as { name?: string; message?: string };
  return new Error(`${what}: ${e?.name ?? 'Error'}: ${e?.message ?? String(error)}`, { cause: error });
}

const STATES: readonly QueryState[] = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'];

/**
 * Queries in one workgroup. The workgroup enforces its result location and
 * encryption (infra/constructs/organization-analytics.ts), so none is given here.
 */
export class AthenaQueryEngine implements QueryEngine {
  readonly description: string;

  constructor(
    private readonly athena: AthenaClient,
    private readonly workGroup: string,
    private readonly database: string,
  ) {
    this.description = `Athena workgroup ${workGroup}`;
  }

  async start(sql: string, idempotencyToken: string): Promise<string> {
    try {
      const result = await this.athena.send(
        new StartQueryExecutionCommand({
          QueryString: sql,
          WorkGroup: this.workGroup,
          QueryExecutionContext: { Database: this.database },
          ClientRequestToken: idempotencyToken,
        }),
      );
      if (!result.QueryExecutionId) throw new Error('no QueryExecutionId in the response');
      return result.QueryExecutionId;
    } catch (error) {
      throw describeError(error, `StartQueryExecution in workgroup ${this.workGroup}`);
    }
  }

  async status(queryId: string): Promise<QueryStatus> {
    let result: GetQueryExecutionCommandOutput;
    try {
      result = await this.athena.send(new GetQueryExecutionCommand({ QueryExecutionId: queryId }));
    } catch (error) {
      throw describeError(error, `GetQueryExecution ${queryId}`);
    }
    const execution = result.QueryExecution;
    const state = execution?.Status?.State;
    if (!state || !STATES.includes(state as QueryState)) {
      throw new Error(`GetQueryExecution ${queryId}: unknown state "${state}"`);
    }
    const error = execution?.Status?.AthenaError;
    const reason = execution?.Status?.StateChangeReason ?? error?.ErrorMessage;
    const bytes = execution?.Statistics?.DataScannedInBytes;
    return {
      state: state as QueryState,
      ...(reason && { reason }),
      ...(error?.ErrorType !== undefined && { errorType: error.ErrorType }),
      ...(error?.Retryable !== undefined && { retryable: error.Retryable }),
      ...(bytes !== undefined && { bytesScanned: bytes }),
    };
  }

  async page(queryId: string, nextToken: string | undefined): Promise<ResultPage> {
    try {
      const result = await this.athena.send(
        new GetQueryResultsCommand({ QueryExecutionId: queryId, MaxResults: 1000, NextToken: nextToken }),
      );
      const columns = (result.ResultSet?.ResultSetMetadata?.ColumnInfo ?? []).map((c) => c.Name ?? '');
      let rows = (result.ResultSet?.Rows ?? []).map((row) => (row.Data ?? []).map((d) => d.VarCharValue));
      // The first row of a SELECT's first page is its header.
      if (nextToken === undefined && rows[0] && columns.every((name, i) => rows[0]?.[i] === name)) {
        rows = rows.slice(1);
      }
      return { columns, rows, ...(result.NextToken && { nextToken: result.NextToken }) };
    } catch (error) {
      throw describeError(error, `GetQueryResults ${queryId}`);
    }
  }

  async stop(queryId: string): Promise<void> {
    try {
      await this.athena.send(new StopQueryExecutionCommand({ QueryExecutionId: queryId }));
    } catch (error) {
      throw describeError(error, `StopQueryExecution ${queryId}`);
    }
  }
}

/**
 * The accounts an organization trail has delivered logs for: the folders under
 * AWSLogs/<org id>/ in its bucket. Used when the table's account partition is
 * injected (every account of the organization, not a list known at deploy time).
 */
export class S3OrganizationAccounts {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly organizationId: string,
  ) {}

  async list(): Promise<string[]> {
    const prefix = `AWSLogs/${this.organizationId}/`;
    const accounts: string[] = [];
    let token: string | undefined;
    do {
      let page: ListObjectsV2CommandOutput;
      try {
        page = await this.s3.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: prefix,
            Delimiter: '/',
            ContinuationToken: token,
          }),
        );
      } catch (error) {
        throw describeError(error, `ListObjectsV2 s3://${this.bucket}/${prefix}`);
      }
      for (const common of page.CommonPrefixes ?? []) {
        const account = common.Prefix?.slice(prefix.length).replace(/\/$/, '');
        if (account && /^\d{12}$/.test(account)) accounts.push(account);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return accounts.sort();
  }
}
