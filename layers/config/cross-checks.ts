import { decoyNames } from '../decoys/catalogue';
import { auditTrailName } from './names';
import { partitionOf } from './regions';
import type { HoneytrailConfig } from './schema';
import {
  bucketNameProblem,
  type Problem,
  parameterNameProblem,
  TRAIL_NAME_RULES,
  trailNameProblem,
} from './validators';

/**
 * Checks that need several config values at once, run on a config whose every
 * value is well formed: the names the deployment builds from them (a bucket
 * name template, the naming words, the stack name) checked as AWS will check
 * them (a bucket name over 63 characters would fail only when the planter
 * runs), and regions that must share a partition.
 */

export interface CrossFieldIssue {
  path: (string | number)[];
  message: string;
}

/**
 * Default names are picked by a seed that mixes in the account, so which
 * vocabulary entry a deployment gets depends on it; these sample accounts cover
 * the vocabulary well enough to find the long combinations.
 */
const SAMPLE_ACCOUNTS = Array.from({ length: 24 }, (_, i) => String(111122223333 + i * 7919));

const IAM_USER_NAME = /^[\w+=,.@-]{1,64}$/;

export function crossFieldIssues(config: HoneytrailConfig): CrossFieldIssue[] {
  const issues: CrossFieldIssue[] = [];
  // One issue per kind of name: the sample accounts would repeat it.
  const reported = new Set<string>();
  const add = (kind: string, path: (string | number)[], message: Problem) => {
    if (!message || reported.has(kind)) return;
    reported.add(kind);
    issues.push({ path, message });
  };
  // Events cannot be forwarded from one partition to another.
  const home = partitionOf(config.homeRegion);
  config.monitoredRegions.forEach((region, index) => {
    if (partitionOf(region) !== home) {
      add(
        `region-${index}`,
        ['monitoredRegions', index],
        `expected a region of the partition homeRegion ${config.homeRegion} is in (${home}): events cannot be forwarded across partitions`,
      );
    }
  });
  const organizationRegions = config.organization?.regions;
  if (Array.isArray(organizationRegions)) {
    organizationRegions.forEach((region, index) => {
      if (partitionOf(region) !== home) {
        add(
          `organization-region-${index}`,
          ['organization', 'regions', index],
          `expected a region of the partition homeRegion ${config.homeRegion} is in (${home}): events cannot be forwarded across partitions`,
        );
      }
    });
  }
  if (config.trail.mode === 'create') {
    const trail = auditTrailName(config);
    if (trailNameProblem(trail)) {
      add(
        'trail',
        ['stackName'],
        `expected a stack name that makes a valid trail name "${trail}": ${TRAIL_NAME_RULES}`,
      );
    }
  }
  const explicitBucket = config.decoys.s3.bucketName;
  for (const account of SAMPLE_ACCOUNTS) {
    const names = decoyNames(config, account, config.homeRegion);
    if (config.decoys.s3.enabled) {
      const problem = bucketNameProblem(names.bucketName);
      if (problem && explicitBucket) {
        const filled = names.bucketName === explicitBucket ? '' : ` (filled in: "${names.bucketName}")`;
        add('bucket', ['decoys', 's3', 'bucketName'], `${problem}${filled}`);
      } else if (problem) {
        add(
          'bucket',
          ['naming'],
          `${problem}: the generated bucket name "${names.bucketName}" is not one; shorten naming.prefix, naming.service or naming.environment, or set decoys.s3.bucketName`,
        );
      }
    }
    if (config.decoys.ssm.enabled && config.decoys.ssm.parameters.length === 0) {
      for (const parameter of names.parameters) {
        const problem = parameterNameProblem(parameter.name);
        if (problem) {
          add(
            'parameter',
            ['naming'],
            `${problem}: the generated parameter "${parameter.name}" is not one; change naming.environment`,
          );
        }
      }
    }
    if (config.decoys.iam.enabled && !config.decoys.iam.userName && !IAM_USER_NAME.test(names.userName)) {
      add(
        'user',
        ['naming'],
        `expected naming words short enough for an IAM user name (at most 64 characters): the generated user name "${names.userName}" is not one; shorten naming.prefix or naming.service, or set decoys.iam.userName`,
      );
    }
  }
  return issues;
}
