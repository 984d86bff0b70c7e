import type { Command } from 'commander';
import { type AwsOptions, withAwsOptions } from '../common/aws';

interface AuditOptions extends AwsOptions {
  finding?: string;
  execution?: string;
  since?: string;
  json?: boolean;
  bucket?: string;
  stack?: string;
  config?: string;
}

export function registerAudit(program: Command): void {
  const command = program
    .command('audit')
    .description(
      'list the response audit trail: every decision and action, before and after, with how to undo it',
    )
    .option('--finding <id>', 'only this finding')
    .option('--execution <arn>', 'only this execution (a response or a revert)')
    .option('--since <time>', 'only records at or after this time (ISO, or 30m, 24h, 7d back from now)')
    .option('--json', 'print the records as one JSON array on one line ([] when none match)')
    .option('--bucket <name>', 'the records bucket (default: found in the deployed stack)')
    .option('--stack <name>', 'the stack to look the bucket up in (default: the config stackName)')
    .option('--config <file>', 'a config file instead of cdk.json context.honeytrail');
  withAwsOptions(command, 'the region of the stack (default: AWS_REGION or the profile)').action(
    async (options: AuditOptions) => {
      const [
        { withAws },
        { output },
        { CloudFormationClient },
        { S3Client },
        { loadConfig },
        { formatRecord, RECORDS_LOGICAL_ID_PREFIX },
        { findRecordsBucket, parseSince },
        { S3AuditStore },
      ] = await Promise.all([
        import('../common/aws'),
        import('../common/output'),
        import('@aws-sdk/client-cloudformation'),
        import('@aws-sdk/client-s3'),
        import('../../layers/config/load'),
        import('../../layers/response/audit'),
        import('../../layers/response/operator'),
        import('../../layers/response/s3-audit-store'),
      ]);
      const since = options.since ? parseSince(options.since) : undefined;
      // The config names the stack (and its home region, for a missing --region); --bucket needs neither.
      const config = options.bucket ? undefined : loadConfig({ configFile: options.config });
      const records = await withAws(
        options,
        config && `the home region of the deployment is ${config.homeRegion} in its config`,
        async (aws) => {
          const bucket =
            options.bucket ??
            (await findRecordsBucket(
              new CloudFormationClient(aws),
              options.stack ?? config!.stackName,
              RECORDS_LOGICAL_ID_PREFIX,
            ));
          const store = new S3AuditStore(new S3Client({ ...aws, followRegionRedirects: true }), bucket);
          return store.query({ findingId: options.finding, executionArn: options.execution, since });
        },
      );
      const out = output(options.json);
      if (options.json) {
        out.json(records);
        return;
      }
      if (records.length === 0) {
        out.text('no audit records match\n');
        return;
      }
      let execution = '';
      for (const record of records) {
        if (record.executionArn !== execution) {
          execution = record.executionArn;
          out.text(`\n${execution}\n`);
        }
        out.text(`  ${formatRecord(record)}\n`);
      }
    },
  );
}
