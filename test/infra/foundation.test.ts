import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/app-builder';
import { synthApp, TEST_ACCOUNT } from '../helpers/app';
import { sharedApp } from './shared-app';

describe('config at synth', () => {
  it('a wrong value fails synth naming the key and what it accepts', () => {
    expect(() =>
      buildApp({ context: { honeytrail: { scoring: { threshold: 2 } } } }, { nag: false }),
    ).toThrow(/context\.honeytrail\.scoring\.threshold: .*got 2/);
  });

  it('takes the stack name from the config, with a neutral default', () => {
    expect(sharedApp().built.main.stackName).toBe('platform-shared-services');
    expect(synthApp({ stackName: 'shared-infra' }).main.stackName).toBe('shared-infra');
  });
});

describe('trail', () => {
  it('logs every management event in every region; names no bucket (the planter adds object events)', () => {
    const {
      template,
      built: { main },
    } = sharedApp();
    const trails = template().findResources('AWS::CloudTrail::Trail');
    const [trail] = Object.values(trails) as { Properties: Record<string, unknown> }[];
    const props = trail!.Properties;
    expect(props.IsMultiRegionTrail).toBe(true);
    expect(props.IsLogging).toBe(true);
    // No readOnly selector: read and write management events both. The planted bucket's
    // object events are selected at plant time (layers/detection/trail-selectors.ts).
    expect(main.resolve(props.AdvancedEventSelectors)).toEqual([
      { Name: 'Management events', FieldSelectors: [{ Field: 'eventCategory', Equals: ['Management'] }] },
    ]);
    expect(main.trail.plantTimeSelectors).toBe(true);
  });

  it('never logs data events on its own log bucket', () => {
    const { template } = sharedApp();
    const [trail] = Object.values(template().findResources('AWS::CloudTrail::Trail')) as {
      Properties: { S3BucketName: { Ref: string }; AdvancedEventSelectors: unknown };
    }[];
    const logBucketId = trail!.Properties.S3BucketName.Ref;
    expect(JSON.stringify(trail!.Properties.AdvancedEventSelectors)).not.toContain(logBucketId);
  });

  it('creates no trail when an existing one is configured', () => {
    const { template } = sharedApp({
      trail: {
        mode: 'existing',
        existingTrailArn: `arn:aws:cloudtrail:us-east-1:${TEST_ACCOUNT}:trail/org-trail`,
      },
    });
    template().resourceCountIs('AWS::CloudTrail::Trail', 0);
  });

  it('the log bucket lets CloudTrail write only for this trail', () => {
    const { template } = sharedApp();
    template().hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'TrailWrite',
            Principal: { Service: 'cloudtrail.amazonaws.com' },
            Condition: { StringEquals: Match.objectLike({ 'aws:SourceArn': Match.anyValue() }) },
          }),
        ]),
      },
    });
  });
});

describe('state store (the registry an attacker cannot read)', () => {
  it('denies data reads to every principal but the stack functions, even with ReadOnlyAccess', () => {
    const { template } = sharedApp();
    const [table] = Object.values(template().findResources('AWS::DynamoDB::GlobalTable')) as {
      Properties: {
        Replicas: { ResourcePolicy: { PolicyDocument: { Statement: Record<string, unknown>[] } } }[];
      };
    }[];
    const statement = table!.Properties.Replicas[0]!.ResourcePolicy.PolicyDocument.Statement[0]!;
    expect(statement.Effect).toBe('Deny');
    expect(statement.Principal).toEqual({ AWS: '*' });
    expect(statement.Action).toEqual(
      expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:Scan']),
    );
    const readers = (statement.Condition as { StringNotEquals: { 'aws:PrincipalArn': unknown[] } })
      .StringNotEquals['aws:PrincipalArn'];
    expect(readers.length).toBeGreaterThan(0);
    for (const reader of readers) expect(JSON.stringify(reader)).toMatch(/Role/);
  });

  it('is encrypted with its own key and recoverable', () => {
    const { template } = sharedApp();
    template().hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      Replicas: [
        Match.objectLike({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } }),
      ],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
  });
});

describe('house functions', () => {
  it('every function runs Node.js 22 on arm64 with tracing and a retained log group', () => {
    const { template } = sharedApp();
    const functions = template().findResources('AWS::Lambda::Function');
    const ours = Object.entries(functions).filter(([id]) => !id.startsWith('CustomS3AutoDelete'));
    expect(ours.length).toBeGreaterThan(0);
    for (const [, fn] of ours as [string, { Properties: Record<string, unknown> }][]) {
      expect(fn.Properties.Runtime).toBe('nodejs22.x');
      expect(fn.Properties.Architectures).toEqual(['arm64']);
      expect(fn.Properties.TracingConfig).toEqual({ Mode: 'Active' });
      expect(fn.Properties.LoggingConfig).toBeDefined();
    }
    template().allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 365 });
  });
});

describe('trail data events on every bucket (removes the selector tell)', () => {
  it('logs object events on all buckets except its own', () => {
    const {
      template,
      built: { main },
    } = sharedApp({ trail: { dataEvents: 'all-buckets' } });
    const [trail] = Object.values(template().findResources('AWS::CloudTrail::Trail')) as {
      Properties: { S3BucketName: { Ref: string }; AdvancedEventSelectors: unknown };
    }[];
    const selectors = JSON.stringify(main.resolve(trail!.Properties.AdvancedEventSelectors));
    expect(selectors).toContain('NotStartsWith');
    expect(selectors).toContain(trail!.Properties.S3BucketName.Ref);
    expect(selectors).not.toContain('StartsWith":["arn:');
  });
});
