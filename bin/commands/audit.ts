import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { S3Client } from '@aws-sdk/client-s3';
import type { Command } from 'commander';
import { loadConfig } from '../../layers/config/load';
import { type AuditQuery, formatRecord, RECORDS_LOGICAL_ID_PREFIX } from '../../layers/response/audit';
import { findRecordsBucket, parseSince } from '../../layers/response/operator';
import { S3AuditStore } from '../../layers/response/s3-audit-store';

interface AuditOptions {
  finding?: string;
  execution?: string;
  since?: string;
  json?: boolean;
  bucket?: string;
  stack?: string;
  config?: string;
}

export function registerAudit(program: Command): void {
  program
    .command('audit')
    .description(
      'list the response audit trail: every decision and action, before and after, with how to undo it',
    )
    .option('--finding <id>', 'only this finding')
    .option('--execution <arn>', 'only this execution (a response or a revert)')
    .option('--since <time>', 'only records at or after this time (ISO, or 30m, 24h, 7d back from now)')
    .option('--json', 'print the records as a JSON array')
    .option('--bucket <name>', 'the records bucket (default: found in the deployed stack)')
    .option('--stack <name>', 'the stack to look the bucket up in (default: the config stackName)')
    .option('--config <file>', 'a config file instead of cdk.json context.honeytrail')
    .action(async (options: AuditOptions) => {
      const query: AuditQuery = {
        findingId: options.finding,
        executionArn: options.execution,
        since: options.since ? parseSince(options.since) : undefined,
      };
      // Region and credentials: the SDK's standard settings (AWS_REGION, profile, role).
      const bucket =
        options.bucket ??
        (await findRecordsBucket(
          new CloudFormationClient({}),
          options.stack ?? loadConfig({ configFile: options.config }).stackName,
          RECORDS_LOGICAL_ID_PREFIX,
        ));
      const store = new S3AuditStore(new S3Client({ followRegionRedirects: true }), bucket);
      const records = await store.query(query);
      if (options.json) {
        process.stdout.write(`${JSON.stringify(records, null, 2)}\n`);
        return;
      }
      if (records.length === 0) {
        process.stdout.write('no audit records match\n');
        return;
      }
      let execution = '';
      for (const record of records) {
        if (record.executionArn !== execution) {
          execution = record.executionArn;
          process.stdout.write(`\n${execution}\n`);
        }
        process.stdout.write(`  ${formatRecord(record)}\n`);
      }
    });
}
