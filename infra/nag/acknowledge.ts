import { Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * Acknowledges exactly one cdk-nag finding on one construct, with the reason.
 * `finding` is the rule id, with the finding in brackets where the rule reports
 * several (`AwsSolutions-IAM5[Resource::*]`).
 */
export function acknowledge(scope: IConstruct, finding: string, reason: string): void {
  const id =
    finding.includes('::') && !finding.startsWith('AwsSolutions-') ? finding : `AwsSolutions::${finding}`;
  Validations.of(scope).acknowledge({ id, reason });
}

/**
 * How cdk-nag spells a resource that holds tokens: `Ref`s become `<Name>` and
 * `Fn::GetAtt`s `<Name.Attr>`, so `arn:<AWS::Partition>:s3:::b-<AWS::AccountId>/*`.
 */
export function nagResource(scope: IConstruct, value: string): string {
  const render = (part: unknown): string => {
    if (typeof part === 'string') return part;
    if (part && typeof part === 'object') {
      const obj = part as Record<string, unknown>;
      if ('Ref' in obj) return `<${String(obj.Ref)}>`;
      if ('Fn::GetAtt' in obj) return `<${(obj['Fn::GetAtt'] as string[]).join('.')}>`;
      if ('Fn::Join' in obj) {
        const [sep, parts] = obj['Fn::Join'] as [string, unknown[]];
        return parts.map(render).join(sep);
      }
    }
    return JSON.stringify(part);
  };
  return render(Stack.of(scope).resolve(value));
}
