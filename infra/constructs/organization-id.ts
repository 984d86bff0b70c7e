import { Stack } from 'aws-cdk-lib';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { acknowledge } from '../nag/acknowledge';

/** The id of CDK's singleton function behind every AwsCustomResource of a stack. */
const AWS_CUSTOM_RESOURCE_PROVIDER = 'AWS679f53fac002430cb0da5b7982bd2287';

/**
 * The organization's ID, looked up at deploy time (organizations:DescribeOrganization,
 * which any account of the organization may call) when the config does not give it.
 * CDK's AwsCustomResource, not a function of our own: one SDK call, on create and
 * update only, with CDK's provider.
 */
export class OrganizationId extends Construct {
  readonly id: string;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const call: cr.AwsSdkCall = {
      service: 'Organizations',
      action: 'describeOrganization',
      // The ID is the organization's, stable for the stack's life.
      physicalResourceId: cr.PhysicalResourceId.fromResponse('Organization.Id'),
      outputPaths: ['Organization.Id'],
    };
    const lookup = new cr.AwsCustomResource(this, 'Lookup', {
      onCreate: call,
      onUpdate: call,
      // DescribeOrganization has no resource-level permissions.
      policy: cr.AwsCustomResourcePolicy.fromSdkCalls({ resources: cr.AwsCustomResourcePolicy.ANY_RESOURCE }),
      installLatestAwsSdk: false,
    });
    this.id = lookup.getResponseField('Organization.Id');
    acknowledge(
      lookup,
      'AwsSolutions-IAM5[Resource::*]',
      'organizations:DescribeOrganization supports no resource-level permissions.',
    );
    const provider = Stack.of(this).node.tryFindChild(AWS_CUSTOM_RESOURCE_PROVIDER);
    if (provider) {
      acknowledge(
        provider,
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        "CDK's own AwsCustomResource provider (deploy time only); its role and policy are CDK's to define.",
      );
    }
  }
}
